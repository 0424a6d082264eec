using System.Globalization;
using FluentAssertions;
using FluentAssertions.Execution;
using Innovaphone.Redundancy.Core;
using Innovaphone.Redundancy.Shell;
using Innovaphone.Redundancy.Tests.Core;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Shell;

/// <summary>
/// The machine records reasons and notes as codes with arguments; the shell formats them. The wording is public
/// (<see cref="RedundancyStateChange.Reason"/>, log lines, docs): each code must read exactly as it did when the
/// machine formatted it itself.
/// </summary>
public sealed class MachineTextFormatTests
{
    private static readonly PbxAddress Master = PbxAddress.Parse("master.example.com/PBX0");
    private static readonly PbxAddress Slave1 = PbxAddress.Parse("slave1.example.com/PBX0");
    private static readonly PbxAddress Slave2 = PbxAddress.Parse("slave2.example.com/PBX0");
    private static readonly MachineConfig Config = new(Master, PbxScheme.Wss, MaxRedirectHops: 5, Phys: null);

    private static readonly MachineText Failed =
        new(MachineTextCode.AttemptFailed) { Pbx = Master, FailureKind = AttemptFailureKind.Unreachable, Detail = "connection refused" };

    private static readonly MachineText Lost = new(MachineTextCode.ConnectionLost) { Pbx = Slave1, Detail = "reset" };

    private static readonly (MachineText Text, string Expected)[] Cases =
    [
        (new(MachineTextCode.NotStarted), "not started"),
        (new(MachineTextCode.Started), "started: connecting to the primary PBX"),
        (new(MachineTextCode.StoppedByHost), "stopped by the host"),
        (new(MachineTextCode.LoginRejected) { Pbx = Master, Detail = "wrong password", Number = 1234 },
            "login rejected by master.example.com/PBX0: wrong password (error 1234)"),
        (Failed, "attempt to master.example.com/PBX0 failed (Unreachable): connection refused"),
        (new(MachineTextCode.StandbyLoggedIn) { Pbx = Slave1 }, "logged in to slave1.example.com/PBX0, which acts as standby for the user's PBX (the PBX says so)"),
        (new(MachineTextCode.StandbyLogin) { Pbx = Slave1 }, "standby login at slave1.example.com/PBX0"),
        (new(MachineTextCode.LoggedIn) { Pbx = Slave1 }, "logged in to slave1.example.com/PBX0"),
        (new(MachineTextCode.LoggedIn) { Pbx = Slave1, Number = 2 }, "logged in to slave1.example.com/PBX0 after 2 redirect(s)"),
        (new(MachineTextCode.Determined) { Pbx = Slave1, Other = Slave2, Primary = Master },
            "primary master.example.com/PBX0, secondary slave2.example.com/PBX0, user's PBX slave1.example.com/PBX0"),
        (new(MachineTextCode.Determined) { Pbx = Master, Primary = Master },
            "primary master.example.com/PBX0, secondary none, user's PBX master.example.com/PBX0"),
        (new(MachineTextCode.Connected) { Pbx = Slave1 }, "connected to the user's PBX slave1.example.com/PBX0"),
        (new(MachineTextCode.ConnectedRedirected) { Pbx = Slave1 }, "connected to the user's PBX slave1.example.com/PBX0 (redirected)"),
        (new(MachineTextCode.RedirectSchemeRefused) { Pbx = Master, Other = Slave1, SchemeFrom = PbxScheme.Wss, SchemeTo = PbxScheme.Ws },
            "redirect from master.example.com/PBX0 to slave1.example.com/PBX0 refused: it changes the scheme from wss to ws"),
        (new(MachineTextCode.RedirectLoopRefused) { Pbx = Slave1, Other = Master, Hops = HopPath.Start(Master).Add(Slave1) },
            "redirect from slave1.example.com/PBX0 to master.example.com/PBX0 refused: redirect loop "
            + "(master.example.com/PBX0 -> slave1.example.com/PBX0 -> master.example.com/PBX0)"),
        (new(MachineTextCode.RedirectHopLimitRefused) { Pbx = Slave1, Other = Slave2, Number = 5 },
            "redirect from slave1.example.com/PBX0 to slave2.example.com/PBX0 refused: hop limit of 5 reached"),
        (new(MachineTextCode.RedirectFollowed) { Pbx = Master, Other = Slave1 }, "master.example.com/PBX0 redirects to slave1.example.com/PBX0"),
        (new(MachineTextCode.Redirected) { Pbx = Master, Other = Slave1 }, "redirected from master.example.com/PBX0 to slave1.example.com/PBX0"),
        (new(MachineTextCode.LoggedOut) { Pbx = Slave1, Detail = "admin" }, "session logged out by slave1.example.com/PBX0: admin"),
        (new(MachineTextCode.StandbyBack) { Pbx = Master }, "master.example.com/PBX0 reports the user's PBX is back (StandbyBack)"),
        (Lost, "connection to slave1.example.com/PBX0 lost: reset"),
        (new(MachineTextCode.BackoffOverCurrentFirst) { Pbx = Slave1 }, "backoff over: reconnecting to slave1.example.com/PBX0 first"),
        (new(MachineTextCode.BackoffOverFromPrimary), "backoff over: next round from the primary PBX"),
        (new(MachineTextCode.StartWhileRunning), "start while already running"),
        (new(MachineTextCode.StopWhileStopped), "stop while already stopped"),
        (new(MachineTextCode.LateAttemptResult) { Number = 12345 }, "late result of attempt 12345 dropped"),
        (new(MachineTextCode.StaleConnectionLoss), "loss of a connection that is no longer current"),
        (new(MachineTextCode.StaleBackoffSchedule), "schedule of a backoff that is no longer pending"),
        (new(MachineTextCode.StaleBackoffEnd), "end of a backoff that is no longer pending"),
        (new(MachineTextCode.StaggeredAttempt) { Pbx = Master, Other = Slave1 },
            "no answer from master.example.com/PBX0 within the stagger delay: also trying slave1.example.com/PBX0"),
        (new(MachineTextCode.RedirectJoined) { Pbx = Master, Other = Slave1 },
            "master.example.com/PBX0 redirects to slave1.example.com/PBX0, which this round is trying already"),
        (new(MachineTextCode.StaleStagger), "stagger timer that is no longer pending"),
        (new(MachineTextCode.StaleAnswer), "answer of an attempt that is no longer in flight"),
        (new(MachineTextCode.LoginRejectedElsewhere) { Pbx = Master, Other = Slave1, Detail = "unknown user", Number = 1 },
            "login rejected by master.example.com/PBX0, which is not the user's PBX (slave1.example.com/PBX0): unknown user (error 1); trying on"),
        (new(MachineTextCode.LoginRejectedElsewhere) { Pbx = Slave2, Detail = "busy", Number = 7 },
            "login rejected by slave2.example.com/PBX0, which is not the user's PBX (the user's PBX is not known): busy (error 7); trying on"),
        (new(MachineTextCode.StandbyCorrected) { Pbx = Master, Other = Slave1 },
            "master.example.com/PBX0 sent StandbyBack, so it had kept the user as standby: the user's PBX is slave1.example.com/PBX0 again"),
        (new(MachineTextCode.StandbyCorrected) { Pbx = Master },
            "master.example.com/PBX0 sent StandbyBack, so it had kept the user as standby: the user's PBX is not known until the next login"),
        (new(MachineTextCode.StandbyLoggedIn) { Pbx = Master, Other = Slave1, Number = (long)StandbyEvidence.HomeTopology },
            "logged in to master.example.com/PBX0, which acts as standby for the user's PBX (inferred: it can stand in for the user's PBX slave1.example.com/PBX0 by that PBX's alt/master)"),
        (new(MachineTextCode.StandbyLoggedIn) { Pbx = Master, Other = Slave1, Number = (long)StandbyEvidence.DirectElsewhere },
            "logged in to master.example.com/PBX0, which acts as standby for the user's PBX (inferred: reached without a redirect, not the user's PBX slave1.example.com/PBX0)"),
        (Failed with { Wrap = MachineTextWrap.NoPbxReachable },
            "no PBX reachable; last: attempt to master.example.com/PBX0 failed (Unreachable): connection refused"),
        (Failed with { Wrap = MachineTextWrap.RoundFailed },
            "no PBX reachable in this round; last: attempt to master.example.com/PBX0 failed (Unreachable): connection refused"),
        (Lost with { Wrap = MachineTextWrap.Unstable }, "connection to slave1.example.com/PBX0 lost: reset; the connection was unstable, backing off"),
        (new(MachineTextCode.LoginRejected) { Pbx = Master, Detail = "unknown user", Number = 1, Wrap = MachineTextWrap.RejectedRepeatedly },
            "login rejected by master.example.com/PBX0: unknown user (error 1); 3 rejections in a row by PBXes other than the user's: not retrying"),
    ];

    [Fact]
    public void Format_EachCodeAndWrap_ReadsAsTheMachineWroteIt()
    {
        using var scope = new AssertionScope();
        foreach (var (text, expected) in Cases)
        {
            MachineTextFormat.Format(text).Should().Be(expected, "{0} with {1}", text.Code, text.Wrap);
        }
    }

    [Fact]
    public void Format_CoversEveryCodeAndWrap()
    {
        Cases.Select(c => c.Text.Code).Distinct().Should().BeEquivalentTo(Enum.GetValues<MachineTextCode>());
        Cases.Select(c => c.Text.Wrap).Distinct().Should().BeEquivalentTo(Enum.GetValues<MachineTextWrap>());
    }

    [Fact]
    public void Format_Numbers_DoNotDependOnTheCurrentCulture()
    {
        var saved = CultureInfo.CurrentCulture;
        try
        {
            // A culture with a group separator for large numbers.
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
            MachineTextFormat.Format(new MachineText(MachineTextCode.LateAttemptResult) { Number = 1234567 })
                .Should().Be("late result of attempt 1234567 dropped");
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void Machine_RedirectLoopThenRoundFailed_ReasonsAndNotesReadAsBefore()
    {
        var state = Decide(MachineState.Initial, new StartRequested(null), out _);
        MachineTextFormat.Format(state.Reason).Should().Be("started: connecting to the primary PBX");

        state = Decide(state, new AttemptCompleted(state.AttemptId!.Value, new RedirectOffered(Slave1, PbxScheme.Wss)), out var notes);
        MachineTextFormat.Format(state.Reason).Should().Be("redirected from master.example.com/PBX0 to slave1.example.com/PBX0");
        notes.Should().Equal("master.example.com/PBX0 redirects to slave1.example.com/PBX0");

        state = Decide(state, new AttemptCompleted(state.AttemptId!.Value, new RedirectOffered(Master, PbxScheme.Wss)), out notes);
        const string Loop = "redirect from slave1.example.com/PBX0 to master.example.com/PBX0 refused: redirect loop "
            + "(master.example.com/PBX0 -> slave1.example.com/PBX0 -> master.example.com/PBX0)";
        notes.Should().Equal(Loop, "no PBX reachable in this round; last: " + Loop);
        state.Phase.Should().Be(RedundancyState.Failover);
        MachineTextFormat.Format(state.Reason).Should().Be("no PBX reachable; last: " + Loop);
    }

    [Fact]
    public void Machine_RedirectedLogin_NotesAndReasonReadAsBefore()
    {
        var state = Decide(MachineState.Initial, new StartRequested(null), out _);
        state = Decide(state, new AttemptCompleted(state.AttemptId!.Value, new RedirectOffered(Slave1, PbxScheme.Wss)), out _);
        state = Decide(state, new AttemptCompleted(state.AttemptId!.Value, new LoginAccepted(PbxLoginInfo.None)), out var notes);

        notes.Should().Equal(
            "logged in to slave1.example.com/PBX0 after 1 redirect(s)",
            "primary master.example.com/PBX0, secondary slave1.example.com/PBX0, user's PBX slave1.example.com/PBX0");
        MachineTextFormat.Format(state.Reason).Should().Be("connected to the user's PBX slave1.example.com/PBX0 (redirected)");

        // The first early loss reconnects at once; the second in a row backs off.
        state = Decide(state, new ConnectionLost(state.ConnectionId!.Value, new ConnectionLoss(ConnectionLossKind.Closed, "reset"), Unstable: true), out notes);
        notes.Should().Equal("connection to slave1.example.com/PBX0 lost: reset");
        MachineTextFormat.Format(state.Reason).Should().Be("connection to slave1.example.com/PBX0 lost: reset");
        state = Decide(state, new AttemptCompleted(state.AttemptId!.Value, new LoginAccepted(PbxLoginInfo.None)), out _);
        state = Decide(state, new ConnectionLost(state.ConnectionId!.Value, new ConnectionLoss(ConnectionLossKind.Closed, "reset"), Unstable: true), out notes);
        notes.Should().Equal("connection to slave1.example.com/PBX0 lost: reset");
        MachineTextFormat.Format(state.Reason).Should().Be("connection to slave1.example.com/PBX0 lost: reset; the connection was unstable, backing off");
    }

    private static MachineState Decide(MachineState state, MachineEvent @event, out List<string> notes)
    {
        var commands = default(MachineCommands);
        RedundancyMachine.Decide(Config, ref state, @event, ref commands);
        notes = commands.Where(c => c.Kind == MachineCommandKind.Note).Select(c => MachineTextFormat.Format(c.Text)).ToList();
        return state;
    }
}
