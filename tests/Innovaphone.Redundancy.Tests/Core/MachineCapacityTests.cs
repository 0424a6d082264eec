using FluentAssertions;
using Innovaphone.Redundancy.Core;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Core;

/// <summary>
/// Every handler at its worst stays within the six command slots of <see cref="MachineCommands"/>: the slots are a
/// fixed struct, and a seventh command would throw in the middle of a transition. Each case builds the state that makes
/// its handler emit the most commands and checks the count it must emit, so that a new command in a handler shows up here.
/// </summary>
public sealed class MachineCapacityTests
{
    private static readonly PbxAddress Master = PbxAddress.Parse("master.example.com/PBX0");
    private static readonly PbxAddress Slave1 = PbxAddress.Parse("slave1.example.com/PBX0");
    private static readonly PbxAddress Slave2 = PbxAddress.Parse("slave2.example.com/PBX0");
    private static readonly PbxAddress Other = PbxAddress.Parse("other.example.com/PBX0");
    private static readonly MachineConfig Config = new(Master, PbxScheme.Wss, MaxRedirectHops: 5, Phys: null);

    private MachineState _state = MachineState.Initial;

    [Fact]
    public void LoginWithTwoOthersInFlight_AndANewHome_UsesEverySlot()
    {
        ThreeAttemptsInFlight();

        var count = Feed(new AttemptCompleted(_state.Attempts[0].Id, new LoginAccepted(new PbxLoginInfo(Standby: false, Master: Master))));

        count.Should().Be(MachineCommands.Capacity, "two cancels, two notes, a persist and the adoption");
    }

    [Fact]
    public void StandbyBackThatCorrectsAnInference_UsesEverySlot()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Slave1) { HomeMaster = Master }));
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new RedirectOffered(Slave2, PbxScheme.Wss)));
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoginAccepted(PbxLoginInfo.None)));

        var count = Feed(new ConnectionLost(_state.ConnectionId!.Value, new ConnectionLoss(ConnectionLossKind.StandbyBack, "back")));

        count.Should().Be(MachineCommands.Capacity, "two notes, a reset, a persist, a connect and a stagger timer");
    }

    [Fact]
    public void StopWithThreeAttemptsInFlight_StaysWithinTheSlots()
    {
        ThreeAttemptsInFlight();

        Feed(new StopRequested()).Should().Be(4, "three cancels and a reset").And.BeLessThanOrEqualTo(MachineCommands.Capacity);
    }

    [Fact]
    public void RejectionByTheUsersPbxWithThreeInFlight_StaysWithinTheSlots()
    {
        ThreeAttemptsInFlight();
        var home = _state.Attempts.IndexOf(_state.Attempts.Lead.Id);
        _state.Attempts[home].Target.Should().Be(Slave1, "the secondary, which is the user's PBX");

        Feed(new AttemptCompleted(_state.Attempts[home].Id, new LoginDenied(1, "wrong password"))).Should().Be(4, "two cancels, a note and a reset");
    }

    [Fact]
    public void RedirectAndFailureAndStaggerWithThreeInFlight_StayWithinTheSlots()
    {
        ThreeAttemptsInFlight();
        Feed(new AttemptCompleted(_state.Attempts[0].Id, new RedirectOffered(Slave2, PbxScheme.Wss))).Should().BeLessThanOrEqualTo(MachineCommands.Capacity);
        Feed(new AttemptCompleted(_state.Attempts[0].Id, new AttemptUnsuccessful(AttemptFailureKind.Timeout, "t"))).Should().BeLessThanOrEqualTo(MachineCommands.Capacity);
        Feed(new AttemptCompleted(_state.Attempts[0].Id, new LoginDenied(2, "not here"))).Should().BeLessThanOrEqualTo(MachineCommands.Capacity);
    }

    // Up at a PBX that is neither primary nor secondary, then lost: the round is current, primary, secondary (R7), and
    // two stagger timers later all three are in flight.
    private void ThreeAttemptsInFlight()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Slave1) { HomeMaster = Master }));
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoginAccepted(new PbxLoginInfo(Standby: true))));
        _state.Current.Should().Be(Master);

        // The state is a value: put the live connection at a third PBX, as after a redirect to a standby elsewhere.
        _state = _state with { Current = Other };
        Feed(new ConnectionLost(_state.ConnectionId!.Value, new ConnectionLoss(ConnectionLossKind.Closed, "reset")));
        Feed(new StaggerElapsed(_state.StaggerTimerId!.Value));
        Feed(new StaggerElapsed(_state.StaggerTimerId!.Value));

        _state.Attempts.Count.Should().Be(AttemptSet.Capacity);
        Enumerable.Range(0, 3).Select(i => _state.Attempts[i].Target).Should().Equal(Other, Master, Slave1);
    }

    private int Feed(MachineEvent @event)
    {
        var commands = default(MachineCommands);
        RedundancyMachine.Decide(Config, ref _state, @event, ref commands);
        return commands.Length;
    }
}
