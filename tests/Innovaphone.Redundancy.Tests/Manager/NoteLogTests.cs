using FluentAssertions;
using FluentAssertions.Execution;
using Innovaphone.Redundancy.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Manager;

/// <summary>
/// The machine's notes are logged as structured events: PBXes, kinds and codes are fields of their own, and only the
/// wording that varies within one event is a text field.
/// </summary>
public sealed class NoteLogTests
{
    private static readonly PbxAddress Master = PbxAddress.Parse("master.example.com/PBX0");
    private static readonly PbxAddress Slave1 = PbxAddress.Parse("slave1.example.com/PBX0");
    private static readonly PbxAddress Slave2 = PbxAddress.Parse("slave2.example.com/PBX0");

    private static readonly MachineText Failed = new MachineText.AttemptFailure(Master, new AttemptFailed(AttemptFailureKind.Unreachable, "connection refused"));

    // The texts that are reasons only, never notes.
    private static readonly Type[] ReasonsOnly =
        [typeof(MachineText.NotStarted), typeof(MachineText.Started), typeof(MachineText.StoppedByHost), typeof(MachineText.BackoffOver)];

    private static readonly (MachineText Note, int Id, string Message, (string Key, string? Value)[] Fields)[] Cases =
    [
        (Failed, Log.AttemptFailedId,
            "Attempt to master.example.com/PBX0 failed (Unreachable): connection refused",
            [("Pbx", "master.example.com/PBX0"), ("FailureKind", "Unreachable"), ("Reason", "connection refused")]),
        (new MachineText.RedirectFollowed(Master, Slave1), Log.RedirectFollowedId,
            "master.example.com/PBX0 redirects to slave1.example.com/PBX0",
            [("Pbx", "master.example.com/PBX0"), ("Target", "slave1.example.com/PBX0")]),
        (new MachineText.RedirectSchemeRefused(Master, Slave1, PbxScheme.Wss, PbxScheme.Ws),
            Log.RedirectRefusedId,
            "Redirect from master.example.com/PBX0 to slave1.example.com/PBX0 refused (SchemeChange): it changes the scheme from wss to ws",
            [("Pbx", "master.example.com/PBX0"), ("Target", "slave1.example.com/PBX0"), ("Refusal", "SchemeChange")]),
        (new MachineText.RedirectLoopRefused(Slave1, Master, [Master, Slave1]),
            Log.RedirectRefusedId,
            "Redirect from slave1.example.com/PBX0 to master.example.com/PBX0 refused (Loop): redirect loop "
            + "(master.example.com/PBX0 -> slave1.example.com/PBX0 -> master.example.com/PBX0)",
            [("Pbx", "slave1.example.com/PBX0"), ("Target", "master.example.com/PBX0"), ("Refusal", "Loop")]),
        (new MachineText.RedirectHopLimitRefused(Slave1, Slave2, 5), Log.RedirectRefusedId,
            "Redirect from slave1.example.com/PBX0 to slave2.example.com/PBX0 refused (HopLimit): hop limit of 5 reached",
            [("Pbx", "slave1.example.com/PBX0"), ("Target", "slave2.example.com/PBX0"), ("Refusal", "HopLimit"), ("Detail", "hop limit of 5 reached")]),
        (new MachineText.HomeLogin(Slave1, 2), Log.LoggedInId,
            "Logged in to slave1.example.com/PBX0 after 2 redirect(s)",
            [("Pbx", "slave1.example.com/PBX0"), ("RedirectCount", "2")]),
        (new MachineText.StandbyLogin(Slave1, null, StandbyEvidence.SaidStandby), Log.StandbyLoginId,
            "Logged in to slave1.example.com/PBX0, which acts as standby (user's PBX: not known; evidence: SaidStandby)",
            [("Pbx", "slave1.example.com/PBX0"), ("Home", "not known"), ("Evidence", "SaidStandby")]),
        (new MachineText.StandbyLogin(Master, Slave1, StandbyEvidence.HomeTopology), Log.StandbyLoginId,
            "Logged in to master.example.com/PBX0, which acts as standby (user's PBX: slave1.example.com/PBX0; evidence: HomeTopology)",
            [("Pbx", "master.example.com/PBX0"), ("Home", "slave1.example.com/PBX0"), ("Evidence", "HomeTopology")]),
        (new MachineText.Determined(Master, Slave2, Slave1), Log.DeterminedId,
            "Determined primary master.example.com/PBX0, secondary slave2.example.com/PBX0, user's PBX slave1.example.com/PBX0",
            [("Primary", "master.example.com/PBX0"), ("Secondary", "slave2.example.com/PBX0"), ("Home", "slave1.example.com/PBX0")]),
        (new MachineText.Determined(Master, null, Master), Log.DeterminedId,
            "Determined primary master.example.com/PBX0, secondary none, user's PBX master.example.com/PBX0",
            [("Primary", "master.example.com/PBX0"), ("Secondary", "none"), ("Home", "master.example.com/PBX0")]),
        (new MachineText.LoginRejected(Master, new Rejected(1234, "wrong password")), Log.LoginRejectedId,
            "Login rejected by master.example.com/PBX0: wrong password (error 1234)",
            [("Pbx", "master.example.com/PBX0"), ("ErrorText", "wrong password"), ("ErrorCode", "1234"), ("Detail", string.Empty)]),
        (new MachineText.LoginRejected(Master, new Rejected(1, "unknown user"), Repeatedly: true),
            Log.LoginRejectedId,
            "Login rejected by master.example.com/PBX0: unknown user (error 1); 3 rejections in a row by PBXes other than the user's: not retrying",
            [("Pbx", "master.example.com/PBX0"), ("ErrorText", "unknown user"), ("ErrorCode", "1")]),
        (new MachineText.ConnectionEnded(Slave1, new ConnectionLoss(ConnectionLossKind.Closed, "reset")), Log.ConnectionLostId,
            "Connection to slave1.example.com/PBX0 lost: reset",
            [("Pbx", "slave1.example.com/PBX0"), ("Reason", "reset")]),
        (new MachineText.ConnectionEnded(Slave1, new ConnectionLoss(ConnectionLossKind.ClosedByClient, "closed")), Log.ConnectionLostId,
            "Connection to slave1.example.com/PBX0 lost: closed",
            [("Pbx", "slave1.example.com/PBX0"), ("Reason", "closed")]),
        (new MachineText.ConnectionEnded(Master, new ConnectionLoss(ConnectionLossKind.StandbyBack, "back")), Log.StandbyBackId,
            "master.example.com/PBX0 reports the user's PBX is back (StandbyBack); reconnecting from the primary PBX",
            [("Pbx", "master.example.com/PBX0")]),
        (new MachineText.ConnectionEnded(Slave1, new ConnectionLoss(ConnectionLossKind.LoggedOut, "admin")), Log.LoggedOutId,
            "Session logged out by slave1.example.com/PBX0: admin",
            [("Pbx", "slave1.example.com/PBX0"), ("Reason", "admin")]),
        (new MachineText.RoundFailed(Master, Failed), Log.RoundFailedId,
            "No PBX reachable in this round; last tried master.example.com/PBX0: attempt to master.example.com/PBX0 failed (Unreachable): connection refused",
            [("Pbx", "master.example.com/PBX0"), ("Detail", "attempt to master.example.com/PBX0 failed (Unreachable): connection refused")]),
        (new MachineText.Ignored(IgnoredEvent.LateAttemptResult, 12), Log.StaleResultId,
            "Ignored (LateAttemptResult): late result of attempt 12 dropped",
            [("Kind", "LateAttemptResult"), ("Detail", "late result of attempt 12 dropped")]),
        (new MachineText.Ignored(IgnoredEvent.StartWhileRunning), Log.EventIgnoredId,
            "Ignored (StartWhileRunning): start while already running",
            [("Kind", "StartWhileRunning")]),
        (new MachineText.AttemptStaggered(Master, Slave1), Log.AttemptStaggeredId,
            "No answer from master.example.com/PBX0 within the stagger delay: also trying slave1.example.com/PBX0",
            [("Pbx", "master.example.com/PBX0"), ("Target", "slave1.example.com/PBX0")]),
        (new MachineText.RedirectJoined(Master, Slave1), Log.RedirectJoinedId,
            "master.example.com/PBX0 redirects to slave1.example.com/PBX0, which this round is trying already",
            [("Pbx", "master.example.com/PBX0"), ("Target", "slave1.example.com/PBX0")]),
        (new MachineText.LoginRejectedElsewhere(Master, Slave1, new Rejected(1, "unknown user")), Log.LoginRejectedElsewhereId,
            "Login rejected by master.example.com/PBX0, which is not the user's PBX (user's PBX: slave1.example.com/PBX0): unknown user (error 1); trying on",
            [("Pbx", "master.example.com/PBX0"), ("Home", "slave1.example.com/PBX0"), ("ErrorText", "unknown user"), ("ErrorCode", "1")]),
        (new MachineText.LoginRejectedElsewhere(Slave2, null, new Rejected(7, "busy")),
            Log.LoginRejectedElsewhereId,
            "Login rejected by slave2.example.com/PBX0, which is not the user's PBX (user's PBX: not known): busy (error 7); trying on",
            [("Pbx", "slave2.example.com/PBX0"), ("Home", "not known"), ("ErrorCode", "7")]),
        (new MachineText.StandbyCorrected(Master, Slave1), Log.StandbyCorrectedId,
            "master.example.com/PBX0 sent StandbyBack, so it had kept the user as standby: the user's PBX is slave1.example.com/PBX0",
            [("Pbx", "master.example.com/PBX0"), ("Home", "slave1.example.com/PBX0")]),
        (new MachineText.StandbyCorrected(Master, null), Log.StandbyCorrectedId,
            "master.example.com/PBX0 sent StandbyBack, so it had kept the user as standby: the user's PBX is not known",
            [("Pbx", "master.example.com/PBX0"), ("Home", "not known")]),
    ];

    [Fact]
    public void Write_EachNote_LogsItsEventWithSeparateFields()
    {
        using var scope = new AssertionScope();
        foreach (var (note, id, message, fields) in Cases)
        {
            var logger = new FakeLogger();
            NoteLog.Write(logger, note);

            var record = logger.Collector.GetSnapshot().Should().ContainSingle("{0} logs one event", note).Subject;
            record.Id.Id.Should().Be(id, "the event id of {0}", note);
            record.Level.Should().Be(NoteLog.LevelOf(note), "the level of {0}: its [LoggerMessage] level, which LevelOf must name", note);
            record.Message.Should().Be(message, "the message of {0}", note);
            foreach (var (key, value) in fields)
            {
                record.GetStructuredStateValue(key).Should().Be(value, "field {0} of {1}", key, note);
            }
        }
    }

    [Fact]
    public void Cases_CoverEveryNote()
    {
        var notes = typeof(MachineText).GetNestedTypes().Where(t => !t.IsAbstract).Except(ReasonsOnly);
        Cases.Select(c => c.Note.GetType()).Distinct().Should().BeEquivalentTo(notes);
        Cases.Select(c => c.Note).OfType<MachineText.ConnectionEnded>().Select(e => e.Loss.Kind).Distinct().Should().BeEquivalentTo(Enum.GetValues<ConnectionLossKind>());
        Cases.Select(c => c.Note).OfType<MachineText.Ignored>().Select(i => i.Stale).Distinct().Should().BeEquivalentTo([true, false]);
    }

    [Fact]
    public void Write_AReasonThatIsNoNote_Throws()
    {
        foreach (var type in ReasonsOnly)
        {
            var reason = (MachineText)(type == typeof(MachineText.BackoffOver) ? new MachineText.BackoffOver(null) : Activator.CreateInstance(type)!);
            FluentActions.Invoking(() => NoteLog.Write(new FakeLogger(), reason)).Should().Throw<ArgumentOutOfRangeException>();
        }
    }

    [Fact]
    public void Write_LevelDisabled_LogsNothing()
    {
        var logger = new FakeLogger();
        logger.ControlLevel(LogLevel.Debug, enabled: false);
        logger.ControlLevel(LogLevel.Warning, enabled: false);

        NoteLog.Write(logger, new MachineText.Ignored(IgnoredEvent.LateAttemptResult, 1));
        NoteLog.Write(logger, new MachineText.Ignored(IgnoredEvent.StartWhileRunning));
        NoteLog.Write(logger, new MachineText.RedirectHopLimitRefused(Slave1, Slave2, 5));
        NoteLog.Write(logger, new MachineText.RedirectFollowed(Master, Slave1));

        logger.Collector.GetSnapshot().Select(r => r.Id.Id).Should().Equal(Log.RedirectFollowedId);
    }
}
