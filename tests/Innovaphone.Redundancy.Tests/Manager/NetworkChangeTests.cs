using System.Reactive.Subjects;
using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Tests.Scenarios;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Manager;

/// <summary>
/// R14: on a network change the manager asks its transport to verify the live connection (and a login in progress) at
/// once; in Failover a network that is available again starts the next round now, spread by ReconnectJitter.
/// </summary>
public sealed class NetworkChangeTests : IAsyncLifetime
{
    private readonly ScenarioHarness _h = new();
    private readonly Subject<NetworkChange> _network = new();
    private VerifyCountingTransport _transport = null!;
    private SimulatedPbx _master = null!;
    private SimulatedPbx _slave = null!;

    public ValueTask InitializeAsync()
    {
        _master = _h.Sim.AddMaster("master.example.com");
        _slave = _h.Sim.AddSlave("slave.example.com", _master);
        _master.SetAlternative(_slave);
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, _master);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _h.DisposeAsync();
        _network.Dispose();
    }

    [Fact]
    public async Task Change_WhileConnected_AsksTheTransportToVerify_AndKeepsTheConnection()
    {
        await StartAsync();
        await _h.WaitUpAsync(_master);

        _network.OnNext(new NetworkChange(IsAvailable: true));

        _transport.Verifications.Should().Be(1);
        _h.LogEventIds().Should().Contain(Log.NetworkChangedId);
        _h.Manager.State.Should().Be(RedundancyState.Connected, "the transport decides: a connection that answers stays");
    }

    [Fact]
    public async Task ChangeToAvailable_InFailover_StartsTheNextRoundAtOnce()
    {
        await StartAsync(o => o with { BackoffInitial = TimeSpan.FromSeconds(30) });
        await _h.WaitUpAsync(_master);
        _h.Sim.Kill(_master);
        _h.Sim.Kill(_slave);
        await _h.WaitForStateAsync(RedundancyState.Failover);
        _h.Sim.Revive(_master);

        _network.OnNext(new NetworkChange(IsAvailable: true));

        await _h.WaitUpAsync(_master);
        _h.Time.GetUtcNow().Should().Be(_h.Changes.First(c => c.Current == RedundancyState.Failover).Timestamp, "no time passed: the 30 s backoff was cut short");
    }

    [Fact]
    public async Task ChangeToAvailable_InFailover_WaitsTheDrawnJitter()
    {
        await StartAsync(o => o with { BackoffInitial = TimeSpan.FromSeconds(30), ReconnectJitter = TimeSpan.FromSeconds(4), Randomizer = () => 0.5 });
        await _h.WaitUpAsync(_master);
        _h.Sim.Kill(_master);
        _h.Sim.Kill(_slave);
        await _h.WaitUntilAsync(() => _h.LogEventIds().Contains(Log.ReconnectDelayedId), "the delayed reconnect");
        _h.Time.Advance(TimeSpan.FromSeconds(2));
        await _h.WaitForStateAsync(RedundancyState.Failover);
        _h.Sim.Revive(_master);
        _h.Sim.ClearAttempts();

        _network.OnNext(new NetworkChange(IsAvailable: true));
        _h.Time.Advance(TimeSpan.FromMilliseconds(1999));
        _h.Sim.Attempts.Should().BeEmpty("0.5 of the 4 s jitter is 2 s");
        _h.Time.Advance(TimeSpan.FromMilliseconds(1));

        await _h.WaitUpAsync(_master);
    }

    [Fact]
    public async Task ChangeToUnavailable_InFailover_KeepsTheBackoff()
    {
        await StartAsync(o => o with { BackoffInitial = TimeSpan.FromSeconds(30) });
        await _h.WaitUpAsync(_master);
        _h.Sim.Kill(_master);
        _h.Sim.Kill(_slave);
        await _h.WaitForStateAsync(RedundancyState.Failover);
        _h.Sim.ClearAttempts();

        _network.OnNext(new NetworkChange(IsAvailable: false));
        _h.Time.Advance(TimeSpan.FromSeconds(29));

        _h.Sim.Attempts.Should().BeEmpty("no network: the backoff runs its course");
        _h.Manager.State.Should().Be(RedundancyState.Failover);
    }

    [Fact]
    public async Task Change_BeforeStartAndAfterDispose_DoesNothing()
    {
        _h.Create(_master, Configure);
        _network.OnNext(new NetworkChange(IsAvailable: true));
        _transport.Verifications.Should().Be(0, "not started");

        await _h.Manager.DisposeAsync();
        _network.HasObservers.Should().BeFalse("dispose ends the subscription");
    }

    private Task StartAsync(Func<RedundancyOptions, RedundancyOptions>? configure = null) =>
        _h.StartAsync(_master, o => Configure(configure is null ? o : configure(o)));

    private RedundancyOptions Configure(RedundancyOptions o)
    {
        _transport = new VerifyCountingTransport(o.Transport);
        return o with { Transport = _transport, NetworkChanges = _network };
    }

    /// <summary>The simulator's transport, counting the manager's requests to verify.</summary>
    private sealed class VerifyCountingTransport(IPbxTransport inner) : IPbxTransport
    {
        private int _verifications;

        public int Verifications => Volatile.Read(ref _verifications);

        public ValueTask<LoginOutcome> ConnectAsync(PbxLoginRequest request, CancellationToken cancellationToken) => inner.ConnectAsync(request, cancellationToken);

        public void VerifyConnections() => Interlocked.Increment(ref _verifications);
    }
}
