using FluentAssertions;
using Innovaphone.Redundancy.Core;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Core;

/// <summary>
/// R7 staggered attempts in the pure machine: a silent candidate no longer blocks the next one; the first login wins;
/// an answering PBX keeps the floor; never two attempts to one PBX; stop leaves nothing running.
/// </summary>
public sealed class StaggeredAttemptTests
{
    private static readonly PbxAddress Master = PbxAddress.Parse("master.example.com/PBX0");
    private static readonly PbxAddress Slave1 = PbxAddress.Parse("slave1.example.com/PBX0");
    private static readonly PbxAddress Slave2 = PbxAddress.Parse("slave2.example.com/PBX0");
    private static readonly MachineConfig Config = new(Master, PbxScheme.Wss, MaxRedirectHops: 5, Phys: null);

    private MachineState _state = MachineState.Initial;
    private MachineCommand[] _commands = [];

    [Fact]
    public void R7_SilentCandidate_AfterTheStaggerDelay_TheNextStartsBesideIt()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        var first = Single(MachineCommandKind.Connect);
        var stagger = Single(MachineCommandKind.StartStagger);
        stagger.Target.Should().Be(Master, "the timer measures the silence of the PBX just tried");

        Feed(new StaggerElapsed(stagger.TimerId));

        var second = Single(MachineCommandKind.Connect);
        second.Target.Should().Be(Slave1, "R6 order: the secondary after the primary");
        second.Hop.Should().Be(0);
        Of(MachineCommandKind.StartStagger).Should().BeEmpty("no candidate is left to wait");
        Of(MachineCommandKind.CancelAttempt).Should().BeEmpty("the silent attempt goes on beside the new one");
        _state.Attempts.Count.Should().Be(2);
        _state.AttemptId.Should().Be(second.AttemptId, "the latest attempt is the one state changes are about");
        _commands.Should().Contain(c => c.Kind == MachineCommandKind.Note && c.Note == MachineNote.AttemptStaggered);
        _ = first;
    }

    [Fact]
    public void R7_AnsweredCandidate_KeepsTheFloor_AndItsFailureStartsTheNextAtOnce()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        var first = Single(MachineCommandKind.Connect);
        var stagger = Single(MachineCommandKind.StartStagger);

        Feed(new AttemptAnswered(first.AttemptId));
        _commands.Should().BeEmpty();
        Feed(new StaggerElapsed(stagger.TimerId));

        Of(MachineCommandKind.Connect).Should().BeEmpty("a PBX that answered (a two-factor prompt, say) is not raced");
        _state.Attempts.Count.Should().Be(1);

        Feed(new AttemptCompleted(first.AttemptId, new AttemptUnsuccessful(AttemptFailureKind.Timeout, "no LoginResult")));
        Single(MachineCommandKind.Connect).Target.Should().Be(Slave1);
    }

    [Fact]
    public void R7_FirstLoginWins_TheOthersAreCancelled_AndTheirLateResultsIgnored()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        var first = Single(MachineCommandKind.Connect);
        Feed(new StaggerElapsed(Single(MachineCommandKind.StartStagger).TimerId));
        var second = Single(MachineCommandKind.Connect);

        Feed(new AttemptCompleted(second.AttemptId, new LoginAccepted(new PbxLoginInfo(Standby: true))));

        Single(MachineCommandKind.CancelAttempt).AttemptId.Should().Be(first.AttemptId);
        _state.Phase.Should().Be(RedundancyState.Standby);
        _state.ConnectionId.Should().Be(second.AttemptId);
        _state.Attempts.Count.Should().Be(0);
        _state.StaggerTimerId.Should().BeNull();

        var before = _state;
        Feed(new AttemptCompleted(first.AttemptId, new LoginAccepted(PbxLoginInfo.None)));
        _state.Should().Be(before, "a cancelled attempt's late login never wins");
        _commands.Select(c => c.Kind).Should().Equal(MachineCommandKind.Note, MachineCommandKind.CloseConnection);
        _commands[1].ConnectionId.Should().Be(first.AttemptId, "its connection is closed");
    }

    [Fact]
    public void R6_AFailureWhileAnotherIsInFlight_WaitsForIt_TheLastFailureBacksOff()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        var first = Single(MachineCommandKind.Connect);
        Feed(new StaggerElapsed(Single(MachineCommandKind.StartStagger).TimerId));
        var second = Single(MachineCommandKind.Connect);

        Feed(new AttemptCompleted(second.AttemptId, new AttemptUnsuccessful(AttemptFailureKind.Unreachable, "refused")));
        _state.Phase.Should().Be(RedundancyState.Connecting);
        Of(MachineCommandKind.StartBackoff).Should().BeEmpty("the primary is still being tried");

        Feed(new AttemptCompleted(first.AttemptId, new AttemptUnsuccessful(AttemptFailureKind.Timeout, "silent")));
        _state.Phase.Should().Be(RedundancyState.Failover);
        Of(MachineCommandKind.StartBackoff).Should().ContainSingle();
    }

    [Fact]
    public void R7_AfterALoss_CurrentFirst_ThenPrimary_ThenSecondary_NeverTwoToOnePbx()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Slave2)));
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new RedirectOffered(Slave2, PbxScheme.Wss)));
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoginAccepted(PbxLoginInfo.None)));
        _state.Secondary.Should().Be(Slave2);

        // cur = sec = slave2: the round is slave2, master, slave2; the second slave2 is skipped while slave2 is tried.
        Feed(new ConnectionLost(_state.ConnectionId!.Value, new ConnectionLoss(ConnectionLossKind.Closed, "reset")));
        Single(MachineCommandKind.Connect).Target.Should().Be(Slave2);
        Feed(new StaggerElapsed(Single(MachineCommandKind.StartStagger).TimerId));
        Single(MachineCommandKind.Connect).Target.Should().Be(Master);
        Of(MachineCommandKind.StartStagger).Should().BeEmpty("the only candidate left is slave2, which is in flight");
        _state.Attempts.Count.Should().Be(2);
    }

    [Fact]
    public void R3_RedirectToAPbxInFlight_JoinsIt()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        var first = Single(MachineCommandKind.Connect);
        Feed(new StaggerElapsed(Single(MachineCommandKind.StartStagger).TimerId));
        var second = Single(MachineCommandKind.Connect);

        Feed(new AttemptCompleted(first.AttemptId, new RedirectOffered(Slave1, PbxScheme.Wss)));

        Of(MachineCommandKind.Connect).Should().BeEmpty("slave1 is being tried already");
        _commands.Should().Contain(c => c.Kind == MachineCommandKind.Note && c.Note == MachineNote.RedirectJoined);
        _state.Attempts.Count.Should().Be(1);
        _state.AttemptId.Should().Be(second.AttemptId);
    }

    [Fact]
    public void R3_RedirectOfARacedAttempt_IsFollowedInItsSlot()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        var first = Single(MachineCommandKind.Connect);
        Feed(new StaggerElapsed(Single(MachineCommandKind.StartStagger).TimerId));
        var second = Single(MachineCommandKind.Connect);

        Feed(new AttemptCompleted(second.AttemptId, new RedirectOffered(Slave2, PbxScheme.Wss)));

        var hop = Single(MachineCommandKind.Connect);
        hop.Target.Should().Be(Slave2);
        hop.Hop.Should().Be(1);
        _state.Phase.Should().Be(RedundancyState.Redirected);
        _state.Attempts.Count.Should().Be(2);
        _state.Attempts.IndexOf(first.AttemptId).Should().BeGreaterThanOrEqualTo(0);
    }

    [Fact]
    public void R11_Stop_CancelsEveryAttemptInFlight()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        var first = Single(MachineCommandKind.Connect);
        var stagger = Single(MachineCommandKind.StartStagger);
        Feed(new StaggerElapsed(stagger.TimerId));
        var second = Single(MachineCommandKind.Connect);

        Feed(new StopRequested());

        Of(MachineCommandKind.CancelAttempt).Select(c => c.AttemptId).Should().BeEquivalentTo([first.AttemptId, second.AttemptId]);
        _state.Attempts.Count.Should().Be(0);
        _state.StaggerTimerId.Should().BeNull();
        Feed(new StaggerElapsed(stagger.TimerId));
        _commands.Should().ContainSingle().Which.Note.Should().Be(MachineNote.StaleEventIgnored);
    }

    [Fact]
    public void R8_StandbyBackRightAfterTheLogin_ReconnectsAtOnce()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoginAccepted(new PbxLoginInfo(Standby: true))));
        for (var i = 0; i < 3; i++)
        {
            Feed(new ConnectionLost(_state.ConnectionId!.Value, new ConnectionLoss(ConnectionLossKind.StandbyBack, "back"), Unstable: true));
            Single(MachineCommandKind.Connect).Target.Should().Be(Master, "R8: no guard against flapping delays a StandbyBack");
            Of(MachineCommandKind.StartBackoff).Should().BeEmpty();
            Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoginAccepted(new PbxLoginInfo(Standby: true))));
        }
    }

    [Fact]
    public void R7_EarlyLosses_TheFirstReconnectsAtOnce_TheSecondInARowBacksOff_AStableOneResets()
    {
        Feed(new StartRequested(null));
        LogIn();
        Lose(unstable: true);
        Single(MachineCommandKind.Connect).Target.Should().Be(Master);
        LogIn();
        Lose(unstable: true);
        Of(MachineCommandKind.Connect).Should().BeEmpty();
        Feed(new BackoffElapsed(Single(MachineCommandKind.StartBackoff).TimerId));
        LogIn();

        Lose(unstable: false);
        Single(MachineCommandKind.ResetBackoff);
        Single(MachineCommandKind.Connect);
        LogIn();
        Lose(unstable: true);
        Single(MachineCommandKind.Connect).Target.Should().Be(Master, "the count starts again after a stable connection");
    }

    private void LogIn() => Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoginAccepted(PbxLoginInfo.None)));

    private void Lose(bool unstable) =>
        Feed(new ConnectionLost(_state.ConnectionId!.Value, new ConnectionLoss(ConnectionLossKind.Closed, "reset"), unstable));

    private void Feed(MachineEvent @event)
    {
        var commands = default(MachineCommands);
        RedundancyMachine.Decide(Config, ref _state, @event, ref commands);
        _commands = commands.ToArray();
    }

    private IEnumerable<MachineCommand> Of(MachineCommandKind kind) => _commands.Where(c => c.Kind == kind);

    private MachineCommand Single(MachineCommandKind kind) => Of(kind).Should().ContainSingle().Subject;
}
