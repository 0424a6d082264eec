using FluentAssertions;
using Innovaphone.Redundancy.Shared;
using Innovaphone.Redundancy.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Integration;

/// <summary>
/// The warm-up's loopback step (issue 19 point 2) next to a manager on the real WebSocket transport: it opens its own
/// connections through a handler of its own, so the manager's connection (in the transport's shared handler) stays
/// up and untouched, the PBXes see nothing of it, and the failover after it runs as usual.
/// </summary>
[Trait("Category", "Integration")]
public sealed class FailoverWarmUpLoopbackTests : IAsyncLifetime
{
    private readonly LoopbackHarness _h = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _h.DisposeAsync();

    [Fact]
    public async Task WarmUp_RunsItsLoopbackStep_WhileTheManagersConnectionStaysUp_AndTheFailoverAfterItWorks()
    {
        var pbx = await _h.Emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        var standby = await _h.Emulator.AddStandbyAsync(pbx, cancellationToken: TestContext.Current.CancellationToken);
        _h.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, pbx);
        FailoverWarmUp.Forget();
        var completed = FailoverWarmUp.Completed;

        await _h.StartAsync(pbx, manager: o => o with { WarmUp = true });
        await _h.WaitUpAsync(pbx);
        var changes = _h.Changes.Count;
        await _h.WaitUntilAsync(() => FailoverWarmUp.Completed > completed, "the warm-up to run to its end");

        FailoverWarmUp.LastCompleted!.Value.Loopback.Should().Be(new FailoverWarmUp.LoopbackOutcome { Reset = true, Refused = true });
        _h.Changes.Should().HaveCount(changes, "the manager's connection was not disturbed by the warm-up's reset and refused connects");
        _h.Manager.ConnInfo.Up.Should().BeTrue();
        _h.Sim.LiveConnectionCount.Should().Be(1, "the manager's one login is live");
        _h.Sim.Attempts.Should().ContainSingle("the warm-up never talks to a PBX");

        _h.Sim.Kill(pbx);
        var info = await _h.WaitUpAsync(standby, standby: true);

        info.Cur.Should().Be(standby.Address, "the transport's shared handler still connects after the warm-up");
    }
}
