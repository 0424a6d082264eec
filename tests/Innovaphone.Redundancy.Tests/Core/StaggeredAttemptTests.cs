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
        var first = Single<Connect>();
        var stagger = Single<StartStagger>();
        stagger.Silent.Should().Be(Master, "the timer measures the silence of the PBX just tried");

        Feed(new StaggerElapsed(stagger.TimerId));

        var second = Single<Connect>();
        second.Target.Should().Be(Slave1, "R6 order: the secondary after the primary");
        second.Hop.Should().Be(0);
        Of<StartStagger>().Should().BeEmpty("no candidate is left to wait");
        Of<CancelAttempt>().Should().BeEmpty("the silent attempt goes on beside the new one");
        _state.Attempts.Length.Should().Be(2);
        _state.AttemptId.Should().Be(second.AttemptId, "the latest attempt is the one state changes are about");
        _commands.OfType<Note>().Should().Contain(n => n.Text is MachineText.AttemptStaggered);
        _ = first;
    }

    [Fact]
    public void R7_AnsweredCandidate_KeepsTheFloor_AndItsFailureStartsTheNextAtOnce()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        var first = Single<Connect>();
        var stagger = Single<StartStagger>();

        Feed(new AttemptAnswered(first.AttemptId));
        _commands.Should().BeEmpty();
        Feed(new StaggerElapsed(stagger.TimerId));

        Of<Connect>().Should().BeEmpty("a PBX that answered (a two-factor prompt, say) is not raced");
        _state.Attempts.Length.Should().Be(1);

        Feed(new AttemptCompleted(first.AttemptId, new AttemptFailed(AttemptFailureKind.Timeout, "no LoginResult")));
        Single<Connect>().Target.Should().Be(Slave1);
    }

    [Fact]
    public void R7_FirstLoginWins_TheOthersAreCancelled_AndTheirLateResultsIgnored()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        var first = Single<Connect>();
        Feed(new StaggerElapsed(Single<StartStagger>().TimerId));
        var second = Single<Connect>();

        Feed(new AttemptCompleted(second.AttemptId, new LoggedIn(null!, new PbxLoginInfo(Standby: true))));

        Single<CancelAttempt>().AttemptId.Should().Be(first.AttemptId);
        _state.Phase.Should().Be(RedundancyState.Standby);
        _state.ConnectionId.Should().Be(second.AttemptId);
        _state.Attempts.Length.Should().Be(0);
        _state.StaggerTimerId.Should().BeNull();

        var before = _state;
        Feed(new AttemptCompleted(first.AttemptId, new LoggedIn(null!, PbxLoginInfo.None)));
        _state.Should().Be(before, "a cancelled attempt's late login never wins");
        _commands.Select(c => c.GetType()).Should().Equal(typeof(Note), typeof(CloseConnection));
        _commands[1].Should().BeOfType<CloseConnection>().Which.ConnectionId.Should().Be(first.AttemptId, "its connection is closed");
    }

    [Fact]
    public void R6_AFailureWhileAnotherIsInFlight_WaitsForIt_TheLastFailureBacksOff()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        var first = Single<Connect>();
        Feed(new StaggerElapsed(Single<StartStagger>().TimerId));
        var second = Single<Connect>();

        Feed(new AttemptCompleted(second.AttemptId, new AttemptFailed(AttemptFailureKind.Unreachable, "refused")));
        _state.Phase.Should().Be(RedundancyState.Connecting);
        Of<StartBackoff>().Should().BeEmpty("the primary is still being tried");

        Feed(new AttemptCompleted(first.AttemptId, new AttemptFailed(AttemptFailureKind.Timeout, "silent")));
        _state.Phase.Should().Be(RedundancyState.Failover);
        Of<StartBackoff>().Should().ContainSingle();
    }

    [Fact]
    public void R7_AfterALoss_CurrentFirst_ThenPrimary_ThenSecondary_NeverTwoToOnePbx()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Slave2)));
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new Redirected(Slave2, PbxScheme.Wss)));
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoggedIn(null!, PbxLoginInfo.None)));
        _state.Secondary.Should().Be(Slave2);

        // cur = sec = slave2: the round is slave2, master, slave2; the second slave2 is skipped while slave2 is tried.
        Feed(new ConnectionLost(_state.ConnectionId!.Value, new ConnectionLoss(ConnectionLossKind.Closed, "reset")));
        Single<Connect>().Target.Should().Be(Slave2);
        Feed(new StaggerElapsed(Single<StartStagger>().TimerId));
        Single<Connect>().Target.Should().Be(Master);
        Of<StartStagger>().Should().BeEmpty("the only candidate left is slave2, which is in flight");
        _state.Attempts.Length.Should().Be(2);
    }

    [Fact]
    public void R3_RedirectToAPbxInFlight_JoinsIt()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        var first = Single<Connect>();
        Feed(new StaggerElapsed(Single<StartStagger>().TimerId));
        var second = Single<Connect>();

        Feed(new AttemptCompleted(first.AttemptId, new Redirected(Slave1, PbxScheme.Wss)));

        Of<Connect>().Should().BeEmpty("slave1 is being tried already");
        _commands.OfType<Note>().Should().Contain(n => n.Text is MachineText.RedirectJoined);
        _state.Attempts.Length.Should().Be(1);
        _state.AttemptId.Should().Be(second.AttemptId);
    }

    [Fact]
    public void R3_RedirectOfARacedAttempt_IsFollowedInItsSlot()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        var first = Single<Connect>();
        Feed(new StaggerElapsed(Single<StartStagger>().TimerId));
        var second = Single<Connect>();

        Feed(new AttemptCompleted(second.AttemptId, new Redirected(Slave2, PbxScheme.Wss)));

        var hop = Single<Connect>();
        hop.Target.Should().Be(Slave2);
        hop.Hop.Should().Be(1);
        _state.Phase.Should().Be(RedundancyState.Redirected);
        _state.Attempts.Length.Should().Be(2);
        _state.FindAttempt(first.AttemptId).Should().NotBeNull();
    }

    [Fact]
    public void R11_Stop_CancelsEveryAttemptInFlight()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        var first = Single<Connect>();
        var stagger = Single<StartStagger>();
        Feed(new StaggerElapsed(stagger.TimerId));
        var second = Single<Connect>();

        Feed(new StopRequested());

        Of<CancelAttempt>().Select(c => c.AttemptId).Should().BeEquivalentTo([first.AttemptId, second.AttemptId]);
        _state.Attempts.Length.Should().Be(0);
        _state.StaggerTimerId.Should().BeNull();
        Feed(new StaggerElapsed(stagger.TimerId));
        _commands.Should().ContainSingle().Which.Should().Be(new Note(new MachineText.Ignored(IgnoredEvent.StaleStagger)));
    }

    [Fact]
    public void R8_StandbyBackRightAfterTheLogin_ReconnectsAtOnce()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoggedIn(null!, new PbxLoginInfo(Standby: true))));
        for (var i = 0; i < 3; i++)
        {
            Feed(new ConnectionLost(_state.ConnectionId!.Value, new ConnectionLoss(ConnectionLossKind.StandbyBack, "back"), Unstable: true));
            Single<Connect>().Target.Should().Be(Master, "R8: no guard against flapping delays a StandbyBack");
            Of<StartBackoff>().Should().BeEmpty();
            Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoggedIn(null!, new PbxLoginInfo(Standby: true))));
        }
    }

    [Fact]
    public void R7_EarlyLosses_TheFirstReconnectsAtOnce_TheSecondInARowBacksOff_AStableOneResets()
    {
        Feed(new StartRequested(null));
        LogIn();
        Lose(unstable: true);
        Single<Connect>().Target.Should().Be(Master);
        LogIn();
        Lose(unstable: true);
        Of<Connect>().Should().BeEmpty();
        Feed(new BackoffElapsed(Single<StartBackoff>().TimerId));
        LogIn();

        Lose(unstable: false);
        Single<ResetBackoff>();
        Single<Connect>();
        LogIn();
        Lose(unstable: true);
        Single<Connect>().Target.Should().Be(Master, "the count starts again after a stable connection");
    }

    private void LogIn() => Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoggedIn(null!, PbxLoginInfo.None)));

    private void Lose(bool unstable) =>
        Feed(new ConnectionLost(_state.ConnectionId!.Value, new ConnectionLoss(ConnectionLossKind.Closed, "reset"), unstable));

    private void Feed(MachineEvent @event)
    {
        (_state, var commands) = RedundancyMachine.Decide(Config, _state, @event);
        _commands = [.. commands];
    }

    private IEnumerable<T> Of<T>()
        where T : MachineCommand => _commands.OfType<T>();

    private T Single<T>()
        where T : MachineCommand => Of<T>().Should().ContainSingle().Subject;
}
