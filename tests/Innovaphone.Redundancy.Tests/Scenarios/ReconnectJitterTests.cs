using FluentAssertions;
using Innovaphone.Redundancy.Shell;
using Innovaphone.Redundancy.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Scenarios;

/// <summary>
/// <see cref="RedundancyOptions.ReconnectJitter"/>: the first reconnect after a loss waits a random time in
/// [0, ReconnectJitter) on the manager's clock (within what is left of the window when other managers of the process lost
/// the same PBX just before), still tries the current PBX first (R7), and is cancelled by stop and dispose.
/// </summary>
public sealed class ReconnectJitterTests : IAsyncLifetime
{
    private static readonly TimeSpan Jitter = TimeSpan.FromSeconds(4);
    private readonly ScenarioHarness _h = new();
    private double _draw;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _h.DisposeAsync();

    [Fact]
    public async Task Loss_WaitsTheDrawnDelay_ThenReconnectsCurrentFirst()
    {
        var (master, slave) = await UpOnMasterAsync(draw: 0.75);

        _h.Sim.Kill(master);
        await WaitForDelayedReconnectAsync();

        // 0.75 of 4 s: nothing is tried before 3 s have passed, the current PBX first once they have (R7).
        _h.Manager.ConnInfo.Up.Should().BeFalse();
        _h.Time.Advance(TimeSpan.FromMilliseconds(2999));
        await _h.WaitUntilAsync(() => _h.Manager.State == RedundancyState.Connecting, "connecting");
        _h.Sim.Attempts.Should().BeEmpty();
        _h.Time.Advance(TimeSpan.FromMilliseconds(1));
        await _h.WaitUpAsync(slave, standby: true);
        _h.AttemptedPbxes().Should().Equal(master.Address, slave.Address);
        _h.Logs.Single(l => l.Id.Id == Log.ReconnectDelayedId).Message.Should().Contain("00:00:03");
    }

    [Fact]
    public async Task AHerd_ASecondManagerThatLosesTheSamePbxLater_WaitsWithinTheWindowTheFirstLossOpened()
    {
        // Two managers of one process (one clock) lose the same PBX 300 ms apart: the second draws from the 3.7 s left of
        // the window the first loss opened, not from 4 s of its own, so the herd is back within one window.
        var (master, _) = await UpOnMasterAsync(draw: 0.5);
        await using var other = new ScenarioHarness(_h.Time);
        var (otherMaster, otherSlave) = await UpOnMasterOfAnotherManagerAsync(other, draw: 0.5);

        _h.Sim.Kill(master);
        await WaitForDelayedReconnectAsync();
        _h.Time.Advance(TimeSpan.FromMilliseconds(300));
        other.Sim.Kill(otherMaster);
        await other.WaitUntilAsync(() => other.LogEventIds().Contains(Log.ReconnectDelayedId), "the second manager's delayed reconnect");

        other.Logs.Single(l => l.Id.Id == Log.ReconnectDelayedId).Message.Should().Contain("00:00:01.85", "0.5 of the 3.7 s left");
        _h.Time.Advance(TimeSpan.FromMilliseconds(1849));
        await other.WaitUntilAsync(() => other.Manager.State == RedundancyState.Connecting, "connecting");
        other.Sim.Attempts.Should().BeEmpty();
        _h.Time.Advance(TimeSpan.FromMilliseconds(1));
        await other.WaitUpAsync(otherSlave, standby: true);
        _h.Logs.Single(l => l.Id.Id == Log.ReconnectDelayedId).Message.Should().Contain("00:00:02", "the first manager drew 0.5 of the whole 4 s");
    }

    [Fact]
    public async Task AHerdWhoseWaitsEndTogether_StartsItsReconnectsInTurns_CurrentPbxFirst()
    {
        // 25 managers of one process lose the same master at one moment, and all their waits end at once (drawn as 0 here;
        // in the field: a stall of the process).
        const int herd = 25;
        var harnesses = new List<ScenarioHarness> { _h };
        var (master, _) = await UpOnMasterAsync(draw: 0);
        var masters = new List<SimulatedPbx> { master };
        try
        {
            for (var i = 1; i < herd; i++)
            {
                var h = new ScenarioHarness(_h.Time);
                harnesses.Add(h);
                masters.Add((await UpOnMasterOfAnotherManagerAsync(h, draw: 0)).Master);
            }

            for (var i = 0; i < herd; i++)
            {
                harnesses[i].Sim.Kill(masters[i]);
            }

            // 50 attempts in all (the dead master, then the slave): 20 start at once, the other 30 wait for their turn, the
            // slave's after the master's refusal too.
            var spread = ReconnectSpread.For(_h.Time);
            await _h.WaitUntilAsync(
                () => harnesses.Sum(h => h.Sim.Attempts.Count) == ReconnectSpread.BurstSize
                      && spread.WaitingFor(master.Address) + harnesses.Sum(h => h.Sim.Attempts.Count(a => a.Pbx.Host == "slave.example.com")) == herd,
                "20 attempts made, the rest waiting for their turn");

            // The herd lets the rest through at 1.5 x its share (25 / 4 s, 1 to 2 attempts per reconnect): 30 attempts take
            // 1.6 to 3.2 s, on the herd's 10 ms timer. The clock moves in 50 ms steps, letting the managers react between them
            // (the slave's attempt only asks for its turn once the master's is refused).
            var killedAt = _h.Time.GetUtcNow();
            await _h.AdvanceUntilAsync(() => harnesses.All(h => h.Manager.ConnInfo is { Up: true, Standby: true }), TimeSpan.FromMilliseconds(50), 100, "all up as standby");
            (_h.Time.GetUtcNow() - killedAt).Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1.5), "30 attempts at no more than 18.75 /s");
            harnesses.Should().AllSatisfy(h => h.AttemptedPbxes().Should().Equal(masters[0].Address, new PbxAddress("slave.example.com")), "R7: the current PBX first");
            harnesses.Count(h => h.LogEventIds().Contains(Log.ReconnectPacedId)).Should().BeGreaterThanOrEqualTo(herd - ReconnectSpread.BurstSize);
        }
        finally
        {
            foreach (var h in harnesses.Skip(1))
            {
                await h.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task LossesOfOnePbxFurtherApartThanTheBurstGap_AreNotOneHerd()
    {
        var (master, slave) = await UpOnMasterAsync(draw: 0.5);
        _h.Sim.Kill(master);
        await WaitForDelayedReconnectAsync();
        _h.Time.Advance(TimeSpan.FromSeconds(2));
        await _h.WaitUpAsync(slave, standby: true);

        // 2 s later (more than a tenth of the window) the master is back and the slave says StandbyBack: the reconnect to
        // the master opens a new window, 0.5 of 4 s again, not 0.5 of the 2 s left of the first.
        _h.Sim.ClearAttempts();
        _h.Sim.Revive(master);
        await _h.WaitUntilAsync(() => _h.Logs.Count(l => l.Id.Id == Log.ReconnectDelayedId) == 2, "the second delayed reconnect");

        var delayed = _h.Logs.Where(l => l.Id.Id == Log.ReconnectDelayedId).Select(l => l.Message).ToList();
        delayed.Should().AllSatisfy(m => m.Should().Contain("master.example.com"), "both reconnects start at the master: one herd key");
        delayed[1].Should().Contain("00:00:02");
        _h.Time.Advance(TimeSpan.FromSeconds(2));
        await _h.WaitUpAsync(master);
    }

    [Theory]
    [InlineData(0.999999999)]
    [InlineData(1.0)]
    [InlineData(7.5)]
    public async Task Loss_DelayStaysBelowTheJitter_EvenForARandomizerOutOfRange(double draw)
    {
        var (master, slave) = await UpOnMasterAsync(draw);

        _h.Sim.Kill(master);
        await WaitForDelayedReconnectAsync();
        _h.Time.Advance(Jitter);

        await _h.WaitUpAsync(slave, standby: true);
        _h.AttemptedPbxes().Should().Equal(master.Address, slave.Address);
    }

    [Fact]
    public async Task Loss_WithZeroDraw_ReconnectsAtOnce()
    {
        var (master, slave) = await UpOnMasterAsync(draw: 0);

        _h.Sim.Kill(master);

        await _h.WaitUpAsync(slave, standby: true);
        _h.LogEventIds().Should().NotContain(Log.ReconnectDelayedId);
    }

    [Fact]
    public async Task StandbyBack_IsSpreadToo_AndReturnsToTheUsersPbx()
    {
        var (master, slave) = await UpOnMasterAsync(draw: 0);
        _h.Sim.Kill(master);
        await _h.WaitUpAsync(slave, standby: true);
        _h.Sim.ClearAttempts();
        _draw = 0.5;

        _h.Sim.Revive(master);
        await WaitForDelayedReconnectAsync();
        _h.Time.Advance(TimeSpan.FromMilliseconds(1999));
        await _h.WaitUntilAsync(() => _h.Manager.State == RedundancyState.Connecting, "connecting");
        _h.Sim.Attempts.Should().BeEmpty();
        _h.Time.Advance(TimeSpan.FromMilliseconds(1));

        await _h.WaitUpAsync(master);
    }

    [Fact]
    public async Task Stop_DuringTheDelay_CancelsTheReconnect()
    {
        var (master, _) = await UpOnMasterAsync(draw: 0.5);
        _h.Sim.Kill(master);
        await WaitForDelayedReconnectAsync();

        await _h.Manager.StopAsync(TestContext.Current.CancellationToken);
        _h.Time.Advance(TimeSpan.FromHours(1));

        _h.Manager.State.Should().Be(RedundancyState.Stopped);
        _h.Sim.Attempts.Should().BeEmpty();
        _h.Sim.LiveConnectionCount.Should().Be(0);
    }

    [Fact]
    public async Task Dispose_DuringTheDelay_CancelsTheReconnect()
    {
        var (master, _) = await UpOnMasterAsync(draw: 0.5);
        _h.Sim.Kill(master);
        await WaitForDelayedReconnectAsync();

        await _h.Manager.DisposeAsync();
        _h.Time.Advance(TimeSpan.FromHours(1));

        await _h.WaitCompletedAsync();
        _h.Sim.Attempts.Should().BeEmpty();
    }

    [Fact]
    public async Task FailedRoundAfterTheDelay_BacksOffAsBefore_WithoutAnotherJitterWait()
    {
        var (master, slave) = await UpOnMasterAsync(draw: 0.25);
        _h.Sim.Kill(master);
        _h.Sim.Kill(slave);
        await WaitForDelayedReconnectAsync();
        _h.Time.Advance(TimeSpan.FromSeconds(1));

        await _h.WaitForStateAsync(RedundancyState.Failover);
        _h.AttemptedPbxes().Should().Equal(master.Address, slave.Address);
        _h.Sim.Revive(slave);
        await _h.SkipBackoffAsync();
        await _h.WaitUpAsync(slave, standby: true);
        _h.Logs.Count(l => l.Id.Id == Log.ReconnectDelayedId).Should().Be(1);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(600_001)]
    public void Validate_ReconnectJitterOutOfRange_Throws(int milliseconds)
    {
        using var sim = new SimulatedPbxSystem();
        var options = new RedundancyOptions
        {
            Primary = new PbxAddress("pbx.example.com"),
            Transport = sim.CreateTransport("u", "p"),
            ReconnectJitter = TimeSpan.FromMilliseconds(milliseconds),
        };

        var act = options.Validate;

        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be(nameof(RedundancyOptions.ReconnectJitter));
    }

    private async Task<(SimulatedPbx Master, SimulatedPbx Slave)> UpOnMasterAsync(double draw)
    {
        _draw = draw;
        var master = _h.Sim.AddMaster("master.example.com");
        var slave = _h.Sim.AddSlave("slave.example.com", master);
        master.SetAlternative(slave);
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, master);
        await _h.StartAsync(master, o => o with { ReconnectJitter = Jitter, Randomizer = () => _draw });
        await _h.WaitUpAsync(master);
        _h.Sim.ClearAttempts();
        return (master, slave);
    }

    /// <summary>Another manager of the same process (its own simulator, the same clock and PBX names), up on its master.</summary>
    private static async Task<(SimulatedPbx Master, SimulatedPbx Slave)> UpOnMasterOfAnotherManagerAsync(ScenarioHarness other, double draw)
    {
        var master = other.Sim.AddMaster("master.example.com");
        var slave = other.Sim.AddSlave("slave.example.com", master);
        master.SetAlternative(slave);
        other.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, master);
        await other.StartAsync(master, o => o with { ReconnectJitter = Jitter, Randomizer = () => draw });
        await other.WaitUpAsync(master);
        other.Sim.ClearAttempts();
        return (master, slave);
    }

    private Task WaitForDelayedReconnectAsync() =>
        _h.WaitUntilAsync(() => _h.LogEventIds().Contains(Log.ReconnectDelayedId), "the delayed reconnect");
}
