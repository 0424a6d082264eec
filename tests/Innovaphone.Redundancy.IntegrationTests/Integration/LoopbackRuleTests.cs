using System.Diagnostics;
using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Integration;

/// <summary>
/// The core rules again, through the manager and the real WebSocket transport against the loopback emulator:
/// the same simulated system decides, real sockets carry the login, the digests and the faults.
/// </summary>
[Trait("Category", "Integration")]
public sealed class LoopbackRuleTests : IAsyncLifetime
{
    private readonly LoopbackHarness _h = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _h.DisposeAsync();

    [Fact]
    public async Task R3_MasterRedirectsToTheUsersSlave_ConnectedThereWithVerifiedDigests()
    {
        var master = await _h.Emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        await _h.Emulator.AddSlaveAsync(master, cancellationToken: TestContext.Current.CancellationToken);
        var slave2 = await _h.Emulator.AddSlaveAsync(master, cancellationToken: TestContext.Current.CancellationToken);
        _h.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, slave2);
        await _h.StartAsync(master);

        var info = await _h.WaitUpAsync(slave2);

        info.Should().Be(new ConnInfo(true, false, slave2.Address, master.Address, slave2.Address, null));
        _h.Sim.Attempts.Select(a => (a.Pbx, a.Outcome)).Should().Equal(
            (master.Address, SimulatedAttemptOutcome.Redirected), (slave2.Address, SimulatedAttemptOutcome.LoggedIn));
        _h.Transport.Session.Should().NotBeNull("the master's Redirect came after a user login; the slave's LoginResult issued a session");
        _h.ShouldNotHaveLoggedSecrets();
    }

    [Fact]
    public async Task R4_UsersPbxKilled_ExplicitStandbyKeepsTheClient_Measured()
    {
        var (pbx, standby) = await SingleWithStandbyAsync();
        await _h.StartAsync(pbx);
        (await _h.WaitUpAsync(pbx)).Sec.Should().Be(standby.Address);

        var stopwatch = Stopwatch.StartNew();
        _h.Sim.Kill(pbx);
        var info = await _h.WaitUpAsync(standby, standby: true);
        stopwatch.Stop();

        info.Should().Be(new ConnInfo(true, true, standby.Address, pbx.Address, standby.Address, null));
        _h.Manager.State.Should().Be(RedundancyState.Standby);
        TestContext.Current.TestOutputHelper?.WriteLine($"failover on loopback (kill of the user's PBX -> up on the standby): {stopwatch.Elapsed.TotalMilliseconds:F1} ms");
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2), "a killed PBX resets its sockets and refuses new ones at once");
    }

    [Fact]
    public async Task R4_NoStandbyFlagOnTheWire_TheMasterKeepingTheUser_IsInferredStandby_AndStandbyBackBringsItHome()
    {
        // Configured at slave 1, user on slave 2, LoginResults without "standby": the hints of slave 2 (its master) decide.
        _h.Sim.SendsStandbyFlag = false;
        var master = await _h.Emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        var slave1 = await _h.Emulator.AddSlaveAsync(master, cancellationToken: TestContext.Current.CancellationToken);
        var slave2 = await _h.Emulator.AddSlaveAsync(master, cancellationToken: TestContext.Current.CancellationToken);
        _h.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, slave2);
        await _h.StartAsync(slave1);
        await _h.WaitUpAsync(slave2);

        _h.Sim.Kill(slave2);
        var standby = await _h.WaitUpAsync(master, standby: true);
        _h.Sim.Revive(slave2);
        var home = await _h.WaitUpAsync(slave2);

        standby.Should().Be(new ConnInfo(true, true, master.Address, slave1.Address, slave2.Address, null));
        home.Should().Be(new ConnInfo(true, false, slave2.Address, slave1.Address, slave2.Address, null));
        _h.LogEventIds().Should().Contain(Log.StandbyBackId).And.NotContain(Log.StandbyCorrectedId, "nothing was taken for home wrongly");
    }

    [Fact]
    public async Task R9_AStandbyThatRejectsTheUser_DoesNotFaultTheManager()
    {
        var (pbx, standby) = await SingleWithStandbyAsync();
        _h.Sim.SetRejectingLogins(standby, true);
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);

        _h.Sim.Kill(pbx);
        await _h.WaitForStateAsync(RedundancyState.Failover);
        _h.Sim.Revive(pbx);
        var info = await _h.WaitUpAsync(pbx);

        info.Up.Should().BeTrue();
        _h.Changes.Should().NotContain(c => c.Current == RedundancyState.Faulted);
        _h.LogEventIds().Should().Contain(Log.LoginRejectedElsewhereId);
        _h.ShouldNotHaveLoggedSecrets();
    }

    [Fact]
    public async Task R8_StandbyBack_ReturnsToTheUsersPbx()
    {
        var (pbx, standby) = await SingleWithStandbyAsync();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        _h.Sim.Kill(pbx);
        await _h.WaitUpAsync(standby, standby: true);
        var failovers = _h.Changes.Count(c => c.Current == RedundancyState.Failover);

        _h.Sim.Revive(pbx);
        var info = await _h.WaitUpAsync(pbx);

        info.Should().Be(new ConnInfo(true, false, pbx.Address, pbx.Address, standby.Address, null));
        _h.Changes.Count(c => c.Current == RedundancyState.Failover).Should().Be(failovers, "StandbyBack reconnects at once");
        _h.LogEventIds().Should().Contain(Log.StandbyBackId);
    }

    [Fact]
    public async Task R6_BothDown_AlternatesPrimaryAndSecondary_ThenRecovers()
    {
        var (pbx, standby) = await SingleWithStandbyAsync();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        _h.Sim.ClearAttempts();
        _h.Sim.Kill(pbx);
        _h.Sim.Kill(standby);

        await _h.WaitForFailoversAsync(3);
        _h.Sim.Revive(pbx);
        _h.Sim.Revive(standby);
        await _h.WaitUpAsync(pbx);

        // The loss: cur (= pri) first, then the secondary; every later round the same pair.
        var tried = _h.AttemptedPbxes().ToList();
        tried.Should().HaveCountGreaterThanOrEqualTo(6);
        tried.Take(6).Should().Equal(pbx.Address, standby.Address, pbx.Address, standby.Address, pbx.Address, standby.Address);
    }

    [Fact]
    public async Task R7_GracefulCloseByThePbx_ReconnectsToTheSamePbx()
    {
        var (pbx, _) = await SingleWithStandbyAsync();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        var changes = _h.Changes.Count;

        await _h.Emulator.CloseConnectionsAsync(pbx);
        await _h.WaitUntilAsync(() => _h.Sim.Attempts.Count(a => a.Outcome == SimulatedAttemptOutcome.LoggedIn) == 2, "a second login");

        await _h.WaitUpAsync(pbx);
        _h.Changes.Skip(changes).Should().NotContain(c => c.Current == RedundancyState.Failover, "the current PBX answered at once");
    }

    [Fact]
    public async Task R9_WrongPassword_Faults_WithOneAttempt()
    {
        var (pbx, _) = await SingleWithStandbyAsync();
        await _h.StartAsync(pbx, transport: o => o with { Password = "wrong" });

        var change = await _h.WaitForStateAsync(RedundancyState.Faulted);

        change.Reason.Should().Contain("rejected");
        _h.Sim.Attempts.Should().ContainSingle().Which.Outcome.Should().Be(SimulatedAttemptOutcome.Rejected);
        _h.LogEventIds().Should().Contain(Log.LoginRejectedId);
    }

    [Fact]
    public async Task R9_SessionExpired_FallsBackToThePassword()
    {
        var (pbx, standby) = await SingleWithStandbyAsync();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        _h.Sim.ExpireSessions(LoopbackHarness.User);
        _h.Sim.ClearAttempts();

        _h.Sim.Kill(pbx);
        await _h.WaitUpAsync(standby, standby: true);

        _h.Sim.Attempts.Where(a => a.Pbx == standby.Address).Select(a => a.Outcome).Should().Equal(
            SimulatedAttemptOutcome.SessionExpired, SimulatedAttemptOutcome.LoggedInStandby);
        _h.Transport.Session.Should().NotBeNull("the password login issued a new session");
    }

    [Fact]
    public async Task R9_LogoutResult_FaultsAndDoesNotReconnect()
    {
        var (pbx, _) = await SingleWithStandbyAsync();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        _h.Sim.ClearAttempts();

        _h.Sim.Logout(LoopbackHarness.User);
        await _h.WaitForStateAsync(RedundancyState.Faulted);

        _h.Sim.Attempts.Should().BeEmpty();
        _h.LogEventIds().Should().Contain(Log.LoggedOutId);
        _h.Transport.Session.Should().BeNull("LogoutResult ends the session");
    }

    // Runs on both legs: net10.0 through ClientWebSocket's own PING/PONG, net8.0 through the transport's PingingStream.
    [Fact]
    public async Task R7_HalfOpenPbx_KeepaliveNoticesIt_AndTheStandbyTakesOver()
    {
        var (pbx, standby) = await SingleWithStandbyAsync();
        await _h.StartAsync(pbx, transport: o => o with
        {
            KeepAliveInterval = TimeSpan.FromMilliseconds(200),
            KeepAliveTimeout = TimeSpan.FromMilliseconds(400),

            // Far beyond the stagger delay (at most 250 ms here), so that the race is decided by staggering, not by
            // this timeout, even on a loaded machine.
            ConnectTimeout = TimeSpan.FromSeconds(10),
        }, manager: o => o with { AttemptTimeout = TimeSpan.FromSeconds(10) });
        await _h.WaitUpAsync(pbx);

        // Frozen: TCP stays open, nothing is read or answered, and the standby has lost its registration to it.
        _h.Emulator.SetHalfOpen(pbx, true);
        _h.Sim.Partition(pbx, standby);

        await _h.WaitUpAsync(standby, standby: true);
        _h.LogEventIds().Should().Contain(Log.ConnectionLostId);
        _h.LogEventIds().Should().Contain(Innovaphone.Redundancy.Transport.WebSockets.WebSocketLog.KeepAliveExpiredId, "a missing PONG is named as such");

        // R7 staggered: the reconnect to the frozen PBX (current first) got no answer; the standby started beside it
        // after the stagger delay and won; the frozen attempt was cancelled, not waited for until its timeout.
        _h.LogEventIds().Should().Contain(Log.AttemptStaggeredId);
        _h.Logs.Should().NotContain(l => l.Id.Id == Log.AttemptFailedId && l.Message.Contains(pbx.Address.ToString(), StringComparison.Ordinal));

        // Thawed, the PBX reads what was held back (the client's abort) and releases the login.
        _h.Emulator.SetHalfOpen(pbx, false);
        await _h.WaitUntilAsync(() => _h.Sim.LiveConnectionCount == 1, "the frozen login released");
    }

    [Fact]
    public async Task R3_RedirectChainOverLingeringPbxes_FollowsEachRedirectWithoutWaitingForTheClose()
    {
        // Configured at slave S1, the user on slave S2: S1 redirects to the master, the master to S2. Every PBX keeps TCP
        // open after its close handshake, as real servers do; ClientWebSocket waits up to 1 s for that TCP close.
        var (s1, master, s2) = await ChainAsync(linger: TimeSpan.FromSeconds(30));

        var stopwatch = Stopwatch.StartNew();
        await _h.StartAsync(s1);
        await _h.WaitUpAsync(s2);
        stopwatch.Stop();

        TestContext.Current.TestOutputHelper?.WriteLine($"start -> up at S2 over two lingering redirects: {stopwatch.Elapsed.TotalMilliseconds:F1} ms");
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2), "a transport that awaited each close would have spent 1 s on each of the two");
        _h.Sim.Attempts.Select(a => (a.Pbx, a.Outcome)).Should().Equal(
            (s1.Address, SimulatedAttemptOutcome.Redirected), (master.Address, SimulatedAttemptOutcome.Redirected), (s2.Address, SimulatedAttemptOutcome.LoggedIn));

        // Stop returns only once the redirect sockets the transport closed in the background are closed too.
        await _h.Manager.StopAsync(TestContext.Current.CancellationToken);
        _h.Transport.BackgroundCloseCount.Should().Be(0);
    }

    [Fact]
    public async Task R8_StandbyBackThroughALingeringRedirectChain_ReturnsHomeAtOnce()
    {
        var (s1, master, s2) = await ChainAsync(linger: TimeSpan.FromSeconds(30));
        await _h.StartAsync(s1);
        await _h.WaitUpAsync(s2);
        _h.Sim.Kill(s2);
        await _h.WaitUpAsync(master, standby: true);

        var stopwatch = Stopwatch.StartNew();
        _h.Sim.Revive(s2);
        var info = await _h.WaitUpAsync(s2);
        stopwatch.Stop();

        // Home on S2, not standby. (Which secondary: S2 when the round's first attempt went S1 -> M -> S2, the master when
        // S1 stayed silent past the stagger delay and the direct attempt at S2 won the race; both follow R5.)
        (info.Up, info.Standby, info.Cur, info.Pri).Should().Be((true, false, s2.Address, s1.Address));
        TestContext.Current.TestOutputHelper?.WriteLine($"StandbyBack -> home over the lingering chain: {stopwatch.Elapsed.TotalMilliseconds:F1} ms");
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2), "the lingering StandbyBack close and the two lingering redirects would each have cost 1 s");
        _h.LogEventIds().Should().Contain(Log.StandbyBackId);
    }

    // Master M with slaves S1 and S2; the user lives on S2; every PBX lingers after its close handshake.
    private async Task<(SimulatedPbx S1, SimulatedPbx Master, SimulatedPbx S2)> ChainAsync(TimeSpan linger)
    {
        var master = await _h.Emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        var s1 = await _h.Emulator.AddSlaveAsync(master, cancellationToken: TestContext.Current.CancellationToken);
        var s2 = await _h.Emulator.AddSlaveAsync(master, cancellationToken: TestContext.Current.CancellationToken);
        _h.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, s2);
        foreach (var pbx in new[] { s1, master, s2 })
        {
            _h.Emulator.SetLinger(pbx, linger);
        }

        return (s1, master, s2);
    }

    // A single PBX with an explicit standby PBX; the user lives on the single PBX.
    private async Task<(SimulatedPbx Pbx, SimulatedPbx Standby)> SingleWithStandbyAsync()
    {
        var pbx = await _h.Emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        var standby = await _h.Emulator.AddStandbyAsync(pbx, cancellationToken: TestContext.Current.CancellationToken);
        _h.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, pbx);
        return (pbx, standby);
    }
}
