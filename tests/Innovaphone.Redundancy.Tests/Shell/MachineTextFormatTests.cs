using System.Globalization;
using FluentAssertions;
using FluentAssertions.Execution;
using Innovaphone.Redundancy.Core;
using Innovaphone.Redundancy.Shell;
using Innovaphone.Redundancy.Tests.Core;
using Innovaphone.Redundancy.Transport;
using Microsoft.Extensions.Logging.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Shell;

/// <summary>
/// The machine records reasons and notes as facts; the shell words them. The wording is public
/// (<see cref="RedundancyStateChange.Reason"/>, log lines, docs): each text must read exactly as it did when the
/// machine formatted it itself.
/// </summary>
public sealed class MachineTextFormatTests
{
    private static readonly PbxAddress Master = PbxAddress.Parse("master.example.com/PBX0");
    private static readonly PbxAddress Slave1 = PbxAddress.Parse("slave1.example.com/PBX0");
    private static readonly PbxAddress Slave2 = PbxAddress.Parse("slave2.example.com/PBX0");
    private static readonly MachineConfig Config = new(Master, PbxScheme.Wss, MaxRedirectHops: 5, Phys: null);

    private static readonly MachineText Failed = new MachineText.AttemptFailure(Master, new AttemptFailed(AttemptFailureKind.Unreachable, "connection refused"));

    private static readonly MachineText.ConnectionEnded Lost = new(Slave1, new ConnectionLoss(ConnectionLossKind.Closed, "reset"));

    private static readonly (MachineText Text, string Expected)[] Cases =
    [
        (new MachineText.NotStarted(), "not started"),
        (new MachineText.Started(), "started: connecting to the primary PBX"),
        (new MachineText.StoppedByHost(), "stopped by the host"),
        (new MachineText.LoginRejected(Master, new Rejected(1234, "wrong password")), "login rejected by master.example.com/PBX0: wrong password (error 1234)"),
        (Failed, "attempt to master.example.com/PBX0 failed (Unreachable): connection refused"),
        (new MachineText.StandbyLogin(Slave1, null, StandbyEvidence.SaidStandby), "standby login at slave1.example.com/PBX0"),
        (new MachineText.Determined(Master, Slave2, Slave1),
            "primary master.example.com/PBX0, secondary slave2.example.com/PBX0, user's PBX slave1.example.com/PBX0"),
        (new MachineText.Determined(Master, null, Master),
            "primary master.example.com/PBX0, secondary none, user's PBX master.example.com/PBX0"),
        (new MachineText.HomeLogin(Slave1, 0), "connected to the user's PBX slave1.example.com/PBX0"),
        (new MachineText.HomeLogin(Slave1, 2), "connected to the user's PBX slave1.example.com/PBX0 (redirected)"),
        (new MachineText.RedirectSchemeRefused(Master, Slave1, PbxScheme.Wss, PbxScheme.Ws),
            "redirect from master.example.com/PBX0 to slave1.example.com/PBX0 refused: it changes the scheme from wss to ws"),
        (new MachineText.RedirectLoopRefused(Slave1, Master, [Master, Slave1]),
            "redirect from slave1.example.com/PBX0 to master.example.com/PBX0 refused: redirect loop "
            + "(master.example.com/PBX0 -> slave1.example.com/PBX0 -> master.example.com/PBX0)"),
        (new MachineText.RedirectHopLimitRefused(Slave1, Slave2, 5),
            "redirect from slave1.example.com/PBX0 to slave2.example.com/PBX0 refused: hop limit of 5 reached"),
        (new MachineText.RedirectFollowed(Master, Slave1), "redirected from master.example.com/PBX0 to slave1.example.com/PBX0"),
        (new MachineText.ConnectionEnded(Slave1, new ConnectionLoss(ConnectionLossKind.LoggedOut, "admin")), "session logged out by slave1.example.com/PBX0: admin"),
        (new MachineText.ConnectionEnded(Master, new ConnectionLoss(ConnectionLossKind.StandbyBack, "back")),
            "master.example.com/PBX0 reports the user's PBX is back (StandbyBack)"),
        (Lost, "connection to slave1.example.com/PBX0 lost: reset"),
        (new MachineText.ConnectionEnded(Slave1, new ConnectionLoss(ConnectionLossKind.ClosedByClient, "closed")), "connection to slave1.example.com/PBX0 lost: closed"),
        (new MachineText.BackoffOver(Slave1), "backoff over: reconnecting to slave1.example.com/PBX0 first"),
        (new MachineText.BackoffOver(null), "backoff over: next round from the primary PBX"),
        (new MachineText.Ignored(IgnoredEvent.StartWhileRunning), "start while already running"),
        (new MachineText.Ignored(IgnoredEvent.StopWhileStopped), "stop while already stopped"),
        (new MachineText.Ignored(IgnoredEvent.LateAttemptResult, 12345), "late result of attempt 12345 dropped"),
        (new MachineText.Ignored(IgnoredEvent.StaleConnectionLoss), "loss of a connection that is no longer current"),
        (new MachineText.Ignored(IgnoredEvent.StaleBackoffSchedule), "schedule of a backoff that is no longer pending"),
        (new MachineText.Ignored(IgnoredEvent.StaleBackoffEnd), "end of a backoff that is no longer pending"),
        (new MachineText.AttemptStaggered(Master, Slave1),
            "no answer from master.example.com/PBX0 within the stagger delay: also trying slave1.example.com/PBX0"),
        (new MachineText.RedirectJoined(Master, Slave1),
            "master.example.com/PBX0 redirects to slave1.example.com/PBX0, which this round is trying already"),
        (new MachineText.Ignored(IgnoredEvent.StaleStagger), "stagger timer that is no longer pending"),
        (new MachineText.Ignored(IgnoredEvent.StaleAnswer, 7), "answer of an attempt that is no longer in flight"),
        (new MachineText.LoginRejectedElsewhere(Master, Slave1, new Rejected(1, "unknown user")),
            "login rejected by master.example.com/PBX0, which is not the user's PBX (slave1.example.com/PBX0): unknown user (error 1); trying on"),
        (new MachineText.LoginRejectedElsewhere(Slave2, null, new Rejected(7, "busy")),
            "login rejected by slave2.example.com/PBX0, which is not the user's PBX (the user's PBX is not known): busy (error 7); trying on"),
        (new MachineText.StandbyCorrected(Master, Slave1),
            "master.example.com/PBX0 sent StandbyBack, so it had kept the user as standby: the user's PBX is slave1.example.com/PBX0 again"),
        (new MachineText.StandbyCorrected(Master, null),
            "master.example.com/PBX0 sent StandbyBack, so it had kept the user as standby: the user's PBX is not known until the next login"),
        (new MachineText.RoundFailed(Master, Failed),
            "no PBX reachable; last: attempt to master.example.com/PBX0 failed (Unreachable): connection refused"),
        (Lost with { BackingOff = true }, "connection to slave1.example.com/PBX0 lost: reset; the connection was unstable, backing off"),
        (new MachineText.LoginRejected(Master, new Rejected(1, "unknown user"), Repeatedly: true),
            "login rejected by master.example.com/PBX0: unknown user (error 1); 3 rejections in a row by PBXes other than the user's: not retrying"),
    ];

    [Fact]
    public void Format_EachText_ReadsAsTheMachineWroteIt()
    {
        using var scope = new AssertionScope();
        foreach (var (text, expected) in Cases)
        {
            MachineTextFormat.Format(text).Should().Be(expected, "{0}", text);
        }
    }

    [Fact]
    public void Format_CoversEveryTextAndIgnoredEvent()
    {
        var texts = typeof(MachineText).GetNestedTypes().Where(t => !t.IsAbstract);
        Cases.Select(c => c.Text.GetType()).Distinct().Should().BeEquivalentTo(texts);
        Cases.Select(c => c.Text).OfType<MachineText.Ignored>().Select(i => i.Event).Distinct().Should().BeEquivalentTo(Enum.GetValues<IgnoredEvent>());
        Cases.Select(c => c.Text).OfType<MachineText.ConnectionEnded>().Select(e => e.Loss.Kind).Distinct().Should().BeEquivalentTo(Enum.GetValues<ConnectionLossKind>());
    }

    [Fact]
    public void Format_Numbers_DoNotDependOnTheCurrentCulture()
    {
        var saved = CultureInfo.CurrentCulture;
        try
        {
            // A culture with a group separator for large numbers.
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
            MachineTextFormat.Format(new MachineText.Ignored(IgnoredEvent.LateAttemptResult, 1234567))
                .Should().Be("late result of attempt 1234567 dropped");
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void Machine_RedirectLoopThenRoundFailed_ReasonsAndLoggedNotesReadAsBefore()
    {
        var state = Decide(MachineState.Initial, new StartRequested(null), out _);
        MachineTextFormat.Format(state.Reason).Should().Be("started: connecting to the primary PBX");

        state = Decide(state, new AttemptCompleted(state.AttemptId!.Value, new Redirected(Slave1, PbxScheme.Wss)), out var notes);
        MachineTextFormat.Format(state.Reason).Should().Be("redirected from master.example.com/PBX0 to slave1.example.com/PBX0");
        notes.Should().Equal("master.example.com/PBX0 redirects to slave1.example.com/PBX0");

        state = Decide(state, new AttemptCompleted(state.AttemptId!.Value, new Redirected(Master, PbxScheme.Wss)), out notes);
        const string Loop = "redirect from slave1.example.com/PBX0 to master.example.com/PBX0 refused: redirect loop "
            + "(master.example.com/PBX0 -> slave1.example.com/PBX0 -> master.example.com/PBX0)";
        notes.Should().Equal(
            "Redirect from slave1.example.com/PBX0 to master.example.com/PBX0 refused (Loop): redirect loop "
            + "(master.example.com/PBX0 -> slave1.example.com/PBX0 -> master.example.com/PBX0)",
            "No PBX reachable in this round; last tried slave1.example.com/PBX0: " + Loop);
        state.Phase.Should().Be(RedundancyState.Failover);
        MachineTextFormat.Format(state.Reason).Should().Be("no PBX reachable; last: " + Loop);
    }

    [Fact]
    public void Machine_RedirectedLogin_LoggedNotesAndReasonReadAsBefore()
    {
        var state = Decide(MachineState.Initial, new StartRequested(null), out _);
        state = Decide(state, new AttemptCompleted(state.AttemptId!.Value, new Redirected(Slave1, PbxScheme.Wss)), out _);
        state = Decide(state, new AttemptCompleted(state.AttemptId!.Value, new LoggedIn(null!, PbxLoginInfo.None)), out var notes);

        notes.Should().Equal(
            "Logged in to slave1.example.com/PBX0 after 1 redirect(s)",
            "Determined primary master.example.com/PBX0, secondary slave1.example.com/PBX0, user's PBX slave1.example.com/PBX0");
        MachineTextFormat.Format(state.Reason).Should().Be("connected to the user's PBX slave1.example.com/PBX0 (redirected)");

        // The first early loss reconnects at once; the second in a row backs off.
        state = Decide(state, new ConnectionLost(state.ConnectionId!.Value, new ConnectionLoss(ConnectionLossKind.Closed, "reset"), Unstable: true), out notes);
        notes.Should().Equal("Connection to slave1.example.com/PBX0 lost: reset");
        MachineTextFormat.Format(state.Reason).Should().Be("connection to slave1.example.com/PBX0 lost: reset");
        state = Decide(state, new AttemptCompleted(state.AttemptId!.Value, new LoggedIn(null!, PbxLoginInfo.None)), out _);
        state = Decide(state, new ConnectionLost(state.ConnectionId!.Value, new ConnectionLoss(ConnectionLossKind.Closed, "reset"), Unstable: true), out notes);
        notes.Should().Equal("Connection to slave1.example.com/PBX0 lost: reset");
        MachineTextFormat.Format(state.Reason).Should().Be("connection to slave1.example.com/PBX0 lost: reset; the connection was unstable, backing off");
    }

    // The notes as they are logged (NoteLog), the reason as it is published (MachineTextFormat).
    private static MachineState Decide(MachineState state, MachineEvent @event, out List<string> notes)
    {
        (state, var commands) = RedundancyMachine.Decide(Config, state, @event);
        var logger = new FakeLogger();
        foreach (var note in commands.OfType<Note>())
        {
            NoteLog.Write(logger, note.Text);
        }

        notes = [.. logger.Collector.GetSnapshot().Select(r => r.Message)];
        return state;
    }
}
