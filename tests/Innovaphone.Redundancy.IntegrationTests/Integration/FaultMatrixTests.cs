using System.Diagnostics;
using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Integration;

/// <summary>
/// The fault matrix over the loopback emulator and the real WebSocket transport: one test per fault, each asserting
/// the end state (state and connInfo), a generous time bound measured with a <see cref="Stopwatch"/>, and a clean
/// shutdown (after the manager's DisposeAsync: no emulator socket open, no simulated login live, both observables
/// completed).
/// </summary>
[Trait("Category", "Integration")]
public sealed class FaultMatrixTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);
    private readonly LoopbackHarness _h = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _h.DisposeAsync();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AbruptKill_OfTheUsersPbx_StandbyTakesOver()
    {
        var (pbx, standby) = await SingleWithStandbyAsync();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);

        var stopwatch = Stopwatch.StartNew();
        _h.Sim.Kill(pbx);
        var info = await _h.WaitUpAsync(standby, standby: true);
        stopwatch.Stop();

        info.Should().Be(new ConnInfo(true, true, standby.Address, pbx.Address, standby.Address, null));
        _h.Manager.State.Should().Be(RedundancyState.Standby);
        ShouldBeWithinBound(stopwatch, "kill -> up on the standby");
        await DisposeAndAssertCleanAsync();
    }

    [Fact]
    public async Task GracefulClose_ByThePbx_ReconnectsToTheSamePbx_WithoutFailover()
    {
        var (pbx, standby) = await SingleWithStandbyAsync();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        var changes = _h.Changes.Count;

        var stopwatch = Stopwatch.StartNew();
        await _h.Emulator.CloseConnectionsAsync(pbx);
        await _h.WaitUntilAsync(() => _h.Sim.Attempts.Count(a => a.Outcome == SimulatedAttemptOutcome.LoggedIn) == 2, "a second login");
        var info = await _h.WaitUpAsync(pbx);
        stopwatch.Stop();

        info.Should().Be(new ConnInfo(true, false, pbx.Address, pbx.Address, standby.Address, null));
        _h.Manager.State.Should().Be(RedundancyState.Connected);
        _h.Changes.Skip(changes).Should().NotContain(c => c.Current == RedundancyState.Failover, "the current PBX answered at once");
        ShouldBeWithinBound(stopwatch, "graceful close -> up again on the same PBX");
        await DisposeAndAssertCleanAsync();
    }

    // Runs on both legs: net10.0 through ClientWebSocket's own PING/PONG, net8.0 through the transport's PingingStream.
    [Fact]
    public async Task HalfOpenPeer_KeepaliveNoticesIt_StandbyTakesOver()
    {
        var (pbx, standby) = await SingleWithStandbyAsync();
        await _h.StartAsync(pbx, transport: o => o with
        {
            KeepAliveInterval = TimeSpan.FromMilliseconds(200),
            KeepAliveTimeout = TimeSpan.FromMilliseconds(300),
            ConnectTimeout = TimeSpan.FromMilliseconds(500),
        });
        await _h.WaitUpAsync(pbx);

        // Frozen: TCP stays open, nothing is read or answered; the standby has lost its registration to it.
        var stopwatch = Stopwatch.StartNew();
        _h.Emulator.SetHalfOpen(pbx, true);
        _h.Sim.Partition(pbx, standby);
        var info = await _h.WaitUpAsync(standby, standby: true);
        stopwatch.Stop();

        info.Should().Be(new ConnInfo(true, true, standby.Address, pbx.Address, standby.Address, null));
        _h.Manager.State.Should().Be(RedundancyState.Standby);
        _h.LogEventIds().Should().Contain(Log.ConnectionLostId);
        ShouldBeWithinBound(stopwatch, "freeze -> keepalive timeout -> up on the standby");

        // Thawed, the PBX reads what was held back (the client's abort) and releases the frozen login and socket.
        _h.Emulator.SetHalfOpen(pbx, false);
        await DisposeAndAssertCleanAsync();
    }

    [Fact]
    public async Task LoginSlowerThanTheAttemptTimeout_TriesTheNextCandidate()
    {
        var (pbx, standby) = await SingleWithStandbyAsync();
        // Staggering off: this is the attempt timeout's path. (With staggering the slow PBX keeps the floor once its
        // Authenticate arrives, but under load that can take longer than the 100 ms stagger delay learned from the
        // first, fast login, and the standby would start beside it: see Core/StaggeredAttemptTests for that rule.)
        await _h.StartAsync(pbx, manager: o => o with { AttemptTimeout = TimeSpan.FromSeconds(1), StaggerDelay = Timeout.InfiniteTimeSpan });
        await _h.WaitUpAsync(pbx);
        _h.Sim.ClearAttempts();

        // The PBX answers logins after 3 s (> AttemptTimeout); the standby no longer sees it.
        _h.Sim.SetLoginDelay(pbx, TimeSpan.FromSeconds(3));
        _h.Sim.Partition(pbx, standby);
        var stopwatch = Stopwatch.StartNew();
        await _h.Emulator.CloseConnectionsAsync(pbx);
        var info = await _h.WaitUpAsync(standby, standby: true);
        stopwatch.Stop();

        info.Should().Be(new ConnInfo(true, true, standby.Address, pbx.Address, standby.Address, null));
        _h.Manager.State.Should().Be(RedundancyState.Standby);
        _h.AttemptedPbxes().Should().StartWith([pbx.Address], "after a loss the current PBX is tried first");
        _h.Sim.Attempts.Should().Contain(a => a.Pbx == standby.Address && a.Outcome == SimulatedAttemptOutcome.LoggedInStandby);
        stopwatch.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(900), "the slow login is abandoned only at the attempt timeout (1 s)");
        ShouldBeWithinBound(stopwatch, "slow login -> attempt timeout (1 s) -> up on the standby");

        // The delayed login must not outlive the client: the emulator sees the abort when it answers.
        _h.Sim.SetLoginDelay(pbx, TimeSpan.Zero);
        await DisposeAndAssertCleanAsync();
    }

    [Fact]
    public async Task FlappingPbx_LoginAttemptsStayBounded_AndTheManagerIsUpAtTheEnd()
    {
        var pbx = await _h.Emulator.AddMasterAsync(cancellationToken: Ct);
        _h.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, pbx);
        await _h.StartAsync(pbx, manager: o => o with { MinStableConnection = TimeSpan.FromSeconds(2) });
        await _h.WaitUpAsync(pbx);
        _h.Sim.ClearAttempts();

        // Kill and revive every 200 ms for about 2 s, ending killed (the schedule of the fault, not a wait for a condition).
        using (var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200)))
        {
            for (var tick = 0; tick <= 10; tick++)
            {
                if (tick % 2 == 0)
                {
                    _h.Sim.Kill(pbx);
                }
                else
                {
                    _h.Sim.Revive(pbx);
                }

                await timer.WaitForNextTickAsync(Ct);
            }
        }

        var stopwatch = Stopwatch.StartNew();
        _h.Sim.Revive(pbx);
        var info = await _h.WaitUpAsync(pbx);
        stopwatch.Stop();

        info.Should().Be(new ConnInfo(true, false, pbx.Address, pbx.Address, null, null));
        _h.Manager.State.Should().Be(RedundancyState.Connected);
        _h.Changes.Should().Contain(c => c.Current == RedundancyState.Failover, "the flapping PBX was down at times");
        var attempts = _h.Sim.Attempts.Count;
        TestContext.Current.TestOutputHelper?.WriteLine($"flapping for 2 s: {attempts} attempts");
        attempts.Should().BeLessThan(30, "unstable connections and failed rounds back off; a flapping PBX causes no reconnect storm");
        ShouldBeWithinBound(stopwatch, "last revive -> up");
        await DisposeAndAssertCleanAsync();
    }

    [Fact]
    public async Task BothPbxesDown_ForAWhile_ThenBack_Recovers()
    {
        var (pbx, standby) = await SingleWithStandbyAsync();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        _h.Sim.ClearAttempts();

        _h.Sim.Kill(pbx);
        _h.Sim.Kill(standby);
        await _h.WaitForFailoversAsync(3);
        _h.Manager.ConnInfo.Should().Be(new ConnInfo(false, false, pbx.Address, pbx.Address, standby.Address, null));

        var stopwatch = Stopwatch.StartNew();
        _h.Sim.Revive(pbx);
        _h.Sim.Revive(standby);
        var info = await _h.WaitUpAsync(pbx);
        stopwatch.Stop();

        info.Should().Be(new ConnInfo(true, false, pbx.Address, pbx.Address, standby.Address, null));
        _h.Manager.State.Should().Be(RedundancyState.Connected);
        _h.AttemptedPbxes().Take(4).Should().Equal(pbx.Address, standby.Address, pbx.Address, standby.Address);
        ShouldBeWithinBound(stopwatch, "revive of both -> up on the user's PBX (backoff capped at 200 ms)");
        await DisposeAndAssertCleanAsync();
    }

    [Fact]
    public async Task RedirectLoop_IsRefused_ThenRecoversWhenTheLoopEnds()
    {
        var a = await _h.Emulator.AddMasterAsync(cancellationToken: Ct);
        var b = await _h.Emulator.AddSlaveAsync(a, cancellationToken: Ct);
        _h.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, a);
        _h.Emulator.ForceRedirect(a, b);
        _h.Emulator.ForceRedirect(b, a);

        var stopwatch = Stopwatch.StartNew();
        await _h.StartAsync(a);
        await _h.WaitForStateAsync(RedundancyState.Failover);
        stopwatch.Stop();

        _h.Manager.ConnInfo.Should().Be(new ConnInfo(false, false, null, a.Address, null, null));
        _h.LogEventIds().Should().Contain(Log.RedirectRefusedId);
        _h.LogEventIds().Should().NotContain(Log.LoggedInId);
        _h.AttemptedPbxes().Take(2).Should().Equal(a.Address, b.Address);
        ShouldBeWithinBound(stopwatch, "start -> loop refused -> Failover");

        stopwatch.Restart();
        _h.Emulator.ForceRedirect(a, null);
        _h.Emulator.ForceRedirect(b, null);
        var info = await _h.WaitUpAsync(a);
        stopwatch.Stop();

        info.Should().Be(new ConnInfo(true, false, a.Address, a.Address, null, null));
        _h.Manager.State.Should().Be(RedundancyState.Connected);
        ShouldBeWithinBound(stopwatch, "loop ended -> up");
        await DisposeAndAssertCleanAsync();
    }

    [Fact]
    public async Task RedirectToADeadPbx_IsAFailedAttempt_ThenTheUsersSlaveTakesOverWhenReachable()
    {
        var master = await _h.Emulator.AddMasterAsync(cancellationToken: Ct);
        var slave1 = await _h.Emulator.AddSlaveAsync(master, cancellationToken: Ct);
        var slave2 = await _h.Emulator.AddSlaveAsync(master, cancellationToken: Ct);
        _h.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, slave1);
        await _h.StartAsync(master);
        await _h.WaitUpAsync(slave1);
        _h.Sim.ClearAttempts();

        // The master keeps redirecting, but to a dead PBX; the client is cut off from the user's slave.
        _h.Sim.Kill(slave2);
        _h.Emulator.ForceRedirect(master, slave2);
        var stopwatch = Stopwatch.StartNew();
        _h.Sim.PartitionClient(slave1);
        await _h.WaitForFailoversAsync(1);
        stopwatch.Stop();

        _h.Manager.ConnInfo.Should().Be(new ConnInfo(false, false, slave1.Address, master.Address, slave1.Address, null));
        _h.Sim.Attempts.Select(x => (x.Pbx, x.Outcome)).Should().ContainInConsecutiveOrder(
            (master.Address, SimulatedAttemptOutcome.Redirected), (slave2.Address, SimulatedAttemptOutcome.Unreachable));
        _h.LogEventIds().Should().Contain(Log.RedirectFollowedId);
        ShouldBeWithinBound(stopwatch, "cut off -> round over cur, pri (redirect to the dead PBX), sec -> Failover");

        stopwatch.Restart();
        _h.Sim.HealClient(slave1);
        var info = await _h.WaitUpAsync(slave1);
        stopwatch.Stop();

        info.Should().Be(new ConnInfo(true, false, slave1.Address, master.Address, slave1.Address, null));
        _h.Manager.State.Should().Be(RedundancyState.Connected);
        ShouldBeWithinBound(stopwatch, "heal -> up on the user's slave");
        _h.Emulator.ForceRedirect(master, null);
        await DisposeAndAssertCleanAsync();
    }

    [Fact]
    public async Task StandbyBack_ReturnsToTheUsersPbx_AtOnce()
    {
        var (pbx, standby) = await SingleWithStandbyAsync();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        _h.Sim.Kill(pbx);
        await _h.WaitUpAsync(standby, standby: true);
        var failovers = _h.Changes.Count(c => c.Current == RedundancyState.Failover);

        var stopwatch = Stopwatch.StartNew();
        _h.Sim.Revive(pbx);
        var info = await _h.WaitUpAsync(pbx);
        stopwatch.Stop();

        info.Should().Be(new ConnInfo(true, false, pbx.Address, pbx.Address, standby.Address, null));
        _h.Manager.State.Should().Be(RedundancyState.Connected);
        _h.Changes.Count(c => c.Current == RedundancyState.Failover).Should().Be(failovers, "StandbyBack reconnects at once");
        _h.LogEventIds().Should().Contain(Log.StandbyBackId);
        ShouldBeWithinBound(stopwatch, "revive -> StandbyBack -> up on the user's PBX");
        await DisposeAndAssertCleanAsync();
    }

    [Fact]
    public async Task UnsolicitedLogoutResult_Faults_AndDoesNotReconnect()
    {
        var (pbx, standby) = await SingleWithStandbyAsync();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        _h.Sim.ClearAttempts();
        var changes = _h.Changes.Count;

        var stopwatch = Stopwatch.StartNew();
        _h.Sim.Logout(LoopbackHarness.User);
        await _h.WaitForStateAsync(RedundancyState.Faulted, changes);
        stopwatch.Stop();

        _h.Manager.State.Should().Be(RedundancyState.Faulted);
        _h.Manager.ConnInfo.Should().Be(new ConnInfo(false, false, pbx.Address, pbx.Address, standby.Address, null));
        _h.Sim.Attempts.Should().BeEmpty("LogoutResult faults without reconnecting");
        _h.LogEventIds().Should().Contain(Log.LoggedOutId);
        ShouldBeWithinBound(stopwatch, "LogoutResult -> Faulted");
        await DisposeAndAssertCleanAsync();
        _h.Sim.Attempts.Should().BeEmpty("nothing reconnected until disposal");
    }

    [Fact]
    public async Task SessionExpired_Reconnect_FallsBackToThePassword()
    {
        var (pbx, standby) = await SingleWithStandbyAsync();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        _h.Sim.ExpireSessions(LoopbackHarness.User);
        _h.Sim.ClearAttempts();

        var stopwatch = Stopwatch.StartNew();
        await _h.Emulator.CloseConnectionsAsync(pbx);
        await _h.WaitUntilAsync(() => _h.Sim.Attempts.Any(a => a.Outcome == SimulatedAttemptOutcome.LoggedIn), "the password login");
        var info = await _h.WaitUpAsync(pbx);
        stopwatch.Stop();

        info.Should().Be(new ConnInfo(true, false, pbx.Address, pbx.Address, standby.Address, null));
        _h.Manager.State.Should().Be(RedundancyState.Connected);
        _h.Sim.Attempts.Select(a => (a.Pbx, a.Outcome)).Should().Equal(
            (pbx.Address, SimulatedAttemptOutcome.SessionExpired), (pbx.Address, SimulatedAttemptOutcome.LoggedIn));
        _h.Transport.Session.Should().NotBeNull("the password login issued a new session");
        ShouldBeWithinBound(stopwatch, "close -> expired session -> password login -> up");
        await DisposeAndAssertCleanAsync();
    }

    [Fact]
    public async Task WrongPassword_Faults_WithExactlyOneAttempt()
    {
        var (pbx, _) = await SingleWithStandbyAsync();

        var stopwatch = Stopwatch.StartNew();
        await _h.StartAsync(pbx, transport: o => o with { Password = "wrong" });
        var change = await _h.WaitForStateAsync(RedundancyState.Faulted);
        stopwatch.Stop();

        change.Reason.Should().Contain("rejected");
        _h.Manager.State.Should().Be(RedundancyState.Faulted);
        _h.Manager.ConnInfo.Should().Be(new ConnInfo(false, false, null, pbx.Address, null, null));
        _h.Sim.Attempts.Should().ContainSingle().Which.Outcome.Should().Be(SimulatedAttemptOutcome.Rejected);
        ShouldBeWithinBound(stopwatch, "start -> rejected -> Faulted");
        await DisposeAndAssertCleanAsync();
        _h.Sim.Attempts.Should().ContainSingle("a rejected login is never retried");
    }

    [Fact]
    public async Task PbxAcceptsTcpButNeverAnswers_AttemptTimesOut_Failover_ThenRecovers()
    {
        var pbx = await _h.Emulator.AddMasterAsync(cancellationToken: Ct);
        _h.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, pbx);
        _h.Emulator.SetHalfOpen(pbx, true);

        var stopwatch = Stopwatch.StartNew();
        await _h.StartAsync(pbx, manager: o => o with { AttemptTimeout = TimeSpan.FromSeconds(1) });
        var failover = await _h.WaitForStateAsync(RedundancyState.Failover);
        stopwatch.Stop();

        failover.Reason.Should().NotBeNullOrEmpty();
        _h.Manager.ConnInfo.Should().Be(new ConnInfo(false, false, null, pbx.Address, null, null));
        _h.LogEventIds().Should().Contain(Log.AttemptFailedId);
        stopwatch.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(900), "the silent PBX is given up only at the attempt timeout (1 s)");
        ShouldBeWithinBound(stopwatch, "start -> attempt timeout (1 s) -> Failover");

        stopwatch.Restart();
        _h.Emulator.SetHalfOpen(pbx, false);
        var info = await _h.WaitUpAsync(pbx);
        stopwatch.Stop();

        info.Should().Be(new ConnInfo(true, false, pbx.Address, pbx.Address, null, null));
        _h.Manager.State.Should().Be(RedundancyState.Connected);
        ShouldBeWithinBound(stopwatch, "thaw -> up");
        await DisposeAndAssertCleanAsync();
    }

    private static void ShouldBeWithinBound(Stopwatch stopwatch, string what)
    {
        TestContext.Current.TestOutputHelper?.WriteLine($"{what}: {stopwatch.Elapsed.TotalMilliseconds:F1} ms");
        stopwatch.Elapsed.Should().BeLessThanOrEqualTo(Bound, $"{what} must take at most {Bound.TotalSeconds:F0} s");
    }

    /// <summary>
    /// Disposes the manager and checks that nothing is left: both observables completed, state Stopped, no emulator
    /// socket open and no simulated login live. The server side may need a moment to see the client's close, so
    /// the last two are awaited (re-checked on every notification and every 50 ms, bounded by the harness guard).
    /// </summary>
    private async Task DisposeAndAssertCleanAsync()
    {
        var connInfoCompleted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stateChangesCompleted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var connInfoSubscription = _h.Manager.ConnInfoChanges.Subscribe(_ => { }, () => connInfoCompleted.TrySetResult());
        using var stateSubscription = _h.Manager.StateChanges.Subscribe(_ => { }, () => stateChangesCompleted.TrySetResult());

        await _h.Manager.DisposeAsync();

        await Task.WhenAll(connInfoCompleted.Task, stateChangesCompleted.Task).WaitAsync(Bound, Ct);
        _h.Manager.State.Should().Be(RedundancyState.Stopped);
        _h.Manager.ConnInfo.Up.Should().BeFalse();
        await _h.WaitUntilAsync(() => _h.Emulator.OpenSocketCount == 0, "no emulator socket open after the manager's DisposeAsync");
        await _h.WaitUntilAsync(() => _h.Sim.LiveConnectionCount == 0, "no simulated login live after the manager's DisposeAsync");
        _h.Emulator.OpenSocketCount.Should().Be(0);
        _h.Sim.LiveConnectionCount.Should().Be(0);
    }

    // A single PBX with an explicit standby PBX; the user lives on the single PBX.
    private async Task<(SimulatedPbx Pbx, SimulatedPbx Standby)> SingleWithStandbyAsync()
    {
        var pbx = await _h.Emulator.AddMasterAsync(cancellationToken: Ct);
        var standby = await _h.Emulator.AddStandbyAsync(pbx, cancellationToken: Ct);
        _h.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, pbx);
        return (pbx, standby);
    }
}
