using System.Reflection;
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

    private static readonly MachineText Failed =
        new(MachineTextCode.AttemptFailed) { Pbx = Master, FailureKind = AttemptFailureKind.Unreachable, Detail = "connection refused" };

    private static readonly (MachineNote Note, MachineText Text, int Id, string Message, (string Key, string? Value)[] Fields)[] Cases =
    [
        (MachineNote.AttemptFailed, Failed, Log.AttemptFailedId,
            "Attempt to master.example.com/PBX0 failed (Unreachable): connection refused",
            [("Pbx", "master.example.com/PBX0"), ("FailureKind", "Unreachable"), ("Reason", "connection refused")]),
        (MachineNote.RedirectFollowed, new(MachineTextCode.RedirectFollowed) { Pbx = Master, Other = Slave1 }, Log.RedirectFollowedId,
            "master.example.com/PBX0 redirects to slave1.example.com/PBX0",
            [("Pbx", "master.example.com/PBX0"), ("Target", "slave1.example.com/PBX0")]),
        (MachineNote.RedirectRefused,
            new(MachineTextCode.RedirectSchemeRefused) { Pbx = Master, Other = Slave1, SchemeFrom = PbxScheme.Wss, SchemeTo = PbxScheme.Ws },
            Log.RedirectRefusedId,
            "Redirect from master.example.com/PBX0 to slave1.example.com/PBX0 refused (SchemeChange): it changes the scheme from wss to ws",
            [("Pbx", "master.example.com/PBX0"), ("Target", "slave1.example.com/PBX0"), ("Refusal", "SchemeChange")]),
        (MachineNote.RedirectRefused,
            new(MachineTextCode.RedirectLoopRefused) { Pbx = Slave1, Other = Master, Hops = HopPath.Start(Master).Add(Slave1) },
            Log.RedirectRefusedId,
            "Redirect from slave1.example.com/PBX0 to master.example.com/PBX0 refused (Loop): redirect loop "
            + "(master.example.com/PBX0 -> slave1.example.com/PBX0 -> master.example.com/PBX0)",
            [("Pbx", "slave1.example.com/PBX0"), ("Target", "master.example.com/PBX0"), ("Refusal", "Loop")]),
        (MachineNote.RedirectRefused, new(MachineTextCode.RedirectHopLimitRefused) { Pbx = Slave1, Other = Slave2, Number = 5 }, Log.RedirectRefusedId,
            "Redirect from slave1.example.com/PBX0 to slave2.example.com/PBX0 refused (HopLimit): hop limit of 5 reached",
            [("Pbx", "slave1.example.com/PBX0"), ("Target", "slave2.example.com/PBX0"), ("Refusal", "HopLimit"), ("Detail", "hop limit of 5 reached")]),
        (MachineNote.LoggedIn, new(MachineTextCode.LoggedIn) { Pbx = Slave1, Number = 2 }, Log.LoggedInId,
            "Logged in to slave1.example.com/PBX0 after 2 redirect(s)",
            [("Pbx", "slave1.example.com/PBX0"), ("RedirectCount", "2")]),
        (MachineNote.StandbyLogin, new(MachineTextCode.StandbyLoggedIn) { Pbx = Slave1 }, Log.StandbyLoginId,
            "Logged in to slave1.example.com/PBX0, which acts as standby (user's PBX: not known; evidence: SaidStandby)",
            [("Pbx", "slave1.example.com/PBX0"), ("Home", "not known"), ("Evidence", "SaidStandby")]),
        (MachineNote.StandbyLogin,
            new(MachineTextCode.StandbyLoggedIn) { Pbx = Master, Other = Slave1, Number = (long)StandbyEvidence.HomeTopology }, Log.StandbyLoginId,
            "Logged in to master.example.com/PBX0, which acts as standby (user's PBX: slave1.example.com/PBX0; evidence: HomeTopology)",
            [("Pbx", "master.example.com/PBX0"), ("Home", "slave1.example.com/PBX0"), ("Evidence", "HomeTopology")]),
        (MachineNote.Determined, new(MachineTextCode.Determined) { Pbx = Slave1, Other = Slave2, Primary = Master }, Log.DeterminedId,
            "Determined primary master.example.com/PBX0, secondary slave2.example.com/PBX0, user's PBX slave1.example.com/PBX0",
            [("Primary", "master.example.com/PBX0"), ("Secondary", "slave2.example.com/PBX0"), ("Home", "slave1.example.com/PBX0")]),
        (MachineNote.Determined, new(MachineTextCode.Determined) { Pbx = Master, Primary = Master }, Log.DeterminedId,
            "Determined primary master.example.com/PBX0, secondary none, user's PBX master.example.com/PBX0",
            [("Primary", "master.example.com/PBX0"), ("Secondary", "none"), ("Home", "master.example.com/PBX0")]),
        (MachineNote.LoginRejected, new(MachineTextCode.LoginRejected) { Pbx = Master, Detail = "wrong password", Number = 1234 }, Log.LoginRejectedId,
            "Login rejected by master.example.com/PBX0: wrong password (error 1234)",
            [("Pbx", "master.example.com/PBX0"), ("ErrorText", "wrong password"), ("ErrorCode", "1234"), ("Detail", string.Empty)]),
        (MachineNote.LoginRejected,
            new(MachineTextCode.LoginRejected) { Pbx = Master, Detail = "unknown user", Number = 1, Wrap = MachineTextWrap.RejectedRepeatedly },
            Log.LoginRejectedId,
            "Login rejected by master.example.com/PBX0: unknown user (error 1); 3 rejections in a row by PBXes other than the user's: not retrying",
            [("Pbx", "master.example.com/PBX0"), ("ErrorText", "unknown user"), ("ErrorCode", "1")]),
        (MachineNote.ConnectionLost, new(MachineTextCode.ConnectionLost) { Pbx = Slave1, Detail = "reset" }, Log.ConnectionLostId,
            "Connection to slave1.example.com/PBX0 lost: reset",
            [("Pbx", "slave1.example.com/PBX0"), ("Reason", "reset")]),
        (MachineNote.StandbyBack, new(MachineTextCode.StandbyBack) { Pbx = Master }, Log.StandbyBackId,
            "master.example.com/PBX0 reports the user's PBX is back (StandbyBack); reconnecting from the primary PBX",
            [("Pbx", "master.example.com/PBX0")]),
        (MachineNote.LoggedOut, new(MachineTextCode.LoggedOut) { Pbx = Slave1, Detail = "admin" }, Log.LoggedOutId,
            "Session logged out by slave1.example.com/PBX0: admin",
            [("Pbx", "slave1.example.com/PBX0"), ("Reason", "admin")]),
        (MachineNote.RoundFailed, Failed with { Wrap = MachineTextWrap.RoundFailed }, Log.RoundFailedId,
            "No PBX reachable in this round; last tried master.example.com/PBX0: attempt to master.example.com/PBX0 failed (Unreachable): connection refused",
            [("Pbx", "master.example.com/PBX0"), ("Detail", "attempt to master.example.com/PBX0 failed (Unreachable): connection refused")]),
        (MachineNote.StaleEventIgnored, new(MachineTextCode.LateAttemptResult) { Number = 12 }, Log.StaleResultId,
            "Ignored (LateAttemptResult): late result of attempt 12 dropped",
            [("Kind", "LateAttemptResult"), ("Detail", "late result of attempt 12 dropped")]),
        (MachineNote.EventIgnored, new(MachineTextCode.StartWhileRunning), Log.EventIgnoredId,
            "Ignored (StartWhileRunning): start while already running",
            [("Kind", "StartWhileRunning")]),
        (MachineNote.AttemptStaggered, new(MachineTextCode.StaggeredAttempt) { Pbx = Master, Other = Slave1 }, Log.AttemptStaggeredId,
            "No answer from master.example.com/PBX0 within the stagger delay: also trying slave1.example.com/PBX0",
            [("Pbx", "master.example.com/PBX0"), ("Target", "slave1.example.com/PBX0")]),
        (MachineNote.RedirectJoined, new(MachineTextCode.RedirectJoined) { Pbx = Master, Other = Slave1 }, Log.RedirectJoinedId,
            "master.example.com/PBX0 redirects to slave1.example.com/PBX0, which this round is trying already",
            [("Pbx", "master.example.com/PBX0"), ("Target", "slave1.example.com/PBX0")]),
        (MachineNote.LoginRejectedElsewhere,
            new(MachineTextCode.LoginRejectedElsewhere) { Pbx = Master, Other = Slave1, Detail = "unknown user", Number = 1 }, Log.LoginRejectedElsewhereId,
            "Login rejected by master.example.com/PBX0, which is not the user's PBX (user's PBX: slave1.example.com/PBX0): unknown user (error 1); trying on",
            [("Pbx", "master.example.com/PBX0"), ("Home", "slave1.example.com/PBX0"), ("ErrorText", "unknown user"), ("ErrorCode", "1")]),
        (MachineNote.LoginRejectedElsewhere, new(MachineTextCode.LoginRejectedElsewhere) { Pbx = Slave2, Detail = "busy", Number = 7 },
            Log.LoginRejectedElsewhereId,
            "Login rejected by slave2.example.com/PBX0, which is not the user's PBX (user's PBX: not known): busy (error 7); trying on",
            [("Pbx", "slave2.example.com/PBX0"), ("Home", "not known"), ("ErrorCode", "7")]),
        (MachineNote.StandbyCorrected, new(MachineTextCode.StandbyCorrected) { Pbx = Master, Other = Slave1 }, Log.StandbyCorrectedId,
            "master.example.com/PBX0 sent StandbyBack, so it had kept the user as standby: the user's PBX is slave1.example.com/PBX0",
            [("Pbx", "master.example.com/PBX0"), ("Home", "slave1.example.com/PBX0")]),
        (MachineNote.StandbyCorrected, new(MachineTextCode.StandbyCorrected) { Pbx = Master }, Log.StandbyCorrectedId,
            "master.example.com/PBX0 sent StandbyBack, so it had kept the user as standby: the user's PBX is not known",
            [("Pbx", "master.example.com/PBX0"), ("Home", "not known")]),
    ];

    [Fact]
    public void Write_EachNote_LogsItsEventWithSeparateFields()
    {
        using var scope = new AssertionScope();
        foreach (var (note, text, id, message, fields) in Cases)
        {
            var logger = new FakeLogger();
            NoteLog.Write(logger, note, text);

            var record = logger.Collector.GetSnapshot().Should().ContainSingle("{0} logs one event", note).Subject;
            record.Id.Id.Should().Be(id, "the event id of {0}", note);
            record.Level.Should().Be(NoteLog.LevelOf(note), "the level of {0}", note);
            record.Message.Should().Be(message, "the message of {0} ({1})", note, text.Code);
            foreach (var (key, value) in fields)
            {
                record.GetStructuredStateValue(key).Should().Be(value, "field {0} of {1} ({2})", key, note, text.Code);
            }
        }
    }

    [Fact]
    public void Cases_CoverEveryNote()
    {
        Cases.Select(c => c.Note).Distinct().Should().BeEquivalentTo(Enum.GetValues<MachineNote>());
    }

    [Fact]
    public void EventIdAndLevelOf_EachNote_MatchItsLoggerMessage()
    {
        var events = typeof(Log).GetMethods(BindingFlags.Static | BindingFlags.Public)
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>()
            .ToDictionary(a => a.EventId, a => a.Level);

        foreach (var note in Enum.GetValues<MachineNote>())
        {
            events.Should().ContainKey(NoteLog.EventIdOf(note));
            events[NoteLog.EventIdOf(note)].Should().Be(NoteLog.LevelOf(note), "the level of {0}", note);
        }
    }

    [Fact]
    public void Write_LevelDisabled_LogsNothing()
    {
        var logger = new FakeLogger();
        logger.ControlLevel(LogLevel.Debug, enabled: false);
        logger.ControlLevel(LogLevel.Warning, enabled: false);

        NoteLog.Write(logger, MachineNote.StaleEventIgnored, new MachineText(MachineTextCode.LateAttemptResult) { Number = 1 });
        NoteLog.Write(logger, MachineNote.EventIgnored, new MachineText(MachineTextCode.StartWhileRunning));
        NoteLog.Write(logger, MachineNote.RedirectRefused, new MachineText(MachineTextCode.RedirectHopLimitRefused) { Pbx = Slave1, Other = Slave2, Number = 5 });
        NoteLog.Write(logger, MachineNote.RedirectFollowed, new MachineText(MachineTextCode.RedirectFollowed) { Pbx = Master, Other = Slave1 });

        logger.Collector.GetSnapshot().Select(r => r.Id.Id).Should().Equal(Log.RedirectFollowedId);
    }
}
