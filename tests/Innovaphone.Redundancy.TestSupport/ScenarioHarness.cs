using System.Collections.Concurrent;
using FluentAssertions;
using Innovaphone.Redundancy.Persistence;
using Innovaphone.Redundancy.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.TestSupport;

/// <summary>
/// A manager wired to a simulated PBX system in virtual time. Nothing sleeps: the harness waits for
/// notifications (bounded by a real-time guard so that a bug fails the test instead of hanging it) and
/// moves the fake clock forward explicitly.
/// </summary>
internal sealed class ScenarioHarness : IAsyncDisposable
{
    public const string User = "alice";
    public const string Password = "s3cret-Pa55";

    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);
    private readonly ConcurrentQueue<ConnInfo> _connInfos = new();
    private readonly ConcurrentQueue<RedundancyStateChange> _changes = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly List<IDisposable> _subscriptions = [];
    private bool _connInfoCompleted;
    private bool _stateChangesCompleted;
    private int _skippedBackoffs;

    public ScenarioHarness(FakeTimeProvider? time = null)
    {
        Time = time ?? new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        Sim = new SimulatedPbxSystem(Time);
        LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(LogProvider).AddProvider(RunSecrets.LoggerProvider).SetMinimumLevel(LogLevel.Trace));
    }

    public FakeTimeProvider Time { get; }

    public SimulatedPbxSystem Sim { get; }

    public FakeLoggerProvider LogProvider { get; } = new();

    public ILoggerFactory LoggerFactory { get; }

    public IRedundancyStore Store { get; set; } = new InMemoryRedundancyStore();

    public RedundancyManager Manager { get; private set; } = null!;

    public IReadOnlyList<ConnInfo> ConnInfos => [.. _connInfos];

    public IReadOnlyList<RedundancyStateChange> Changes => [.. _changes];

    public IReadOnlyList<FakeLogRecord> Logs => LogProvider.Collector.GetSnapshot();

    /// <summary>Both observables have delivered OnCompleted (which comes after their last value).</summary>
    public bool Completed => Volatile.Read(ref _connInfoCompleted) && Volatile.Read(ref _stateChangesCompleted);

    /// <summary>Creates the manager (not started) with options suited to virtual time; no jitter unless asked for.</summary>
    public RedundancyManager Create(SimulatedPbx primary, Func<RedundancyOptions, RedundancyOptions>? configure = null, string password = Password)
    {
        var options = new RedundancyOptions
        {
            Primary = primary.Address,
            Transport = Sim.CreateTransport(User, password),
            User = User,
            TimeProvider = Time,
            LoggerFactory = LoggerFactory,
            Store = Store,
            AttemptTimeout = TimeSpan.FromSeconds(5),
            BackoffInitial = TimeSpan.FromSeconds(1),
            BackoffMax = TimeSpan.FromSeconds(30),
            BackoffJitter = false,

            // Virtual time does not pass while a scenario runs, so every connection would look unstable.
            MinStableConnection = TimeSpan.Zero,
        };
        Manager = new RedundancyManager(configure is null ? options : configure(options));
        _subscriptions.Add(Manager.ConnInfoChanges.Subscribe(
            info => { _connInfos.Enqueue(info); _signal.Release(); },
            () => { Volatile.Write(ref _connInfoCompleted, true); _signal.Release(); }));
        _subscriptions.Add(Manager.StateChanges.Subscribe(
            change => { _changes.Enqueue(change); _signal.Release(); },
            () => { Volatile.Write(ref _stateChangesCompleted, true); _signal.Release(); }));
        return Manager;
    }

    public async Task<RedundancyManager> StartAsync(SimulatedPbx primary, Func<RedundancyOptions, RedundancyOptions>? configure = null)
    {
        Create(primary, configure);
        await Manager.StartAsync(TestContext.Current.CancellationToken);
        return Manager;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, re-checking on every notification.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        guard.CancelAfter(Guard);
        while (!condition())
        {
            try
            {
                await _signal.WaitAsync(TimeSpan.FromMilliseconds(50), guard.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Gave up waiting for: {what}. State {Manager.State}; connInfo {Manager.ConnInfo}; " +
                                           $"changes: {string.Join(", ", Changes.Select(c => c.Current))}");
            }
        }
    }

    /// <summary>Waits for a state change to <paramref name="state"/> after the first <paramref name="after"/> changes.</summary>
    public async Task<RedundancyStateChange> WaitForStateAsync(RedundancyState state, int after = 0)
    {
        await WaitUntilAsync(() => Changes.Skip(after).Any(c => c.Current == state), $"state {state}");
        return Changes.Skip(after).First(c => c.Current == state);
    }

    /// <summary>
    /// Waits until connInfo matches and this harness has been notified of it (notifications arrive off the manager's
    /// loop, after the <see cref="RedundancyManager.ConnInfo"/> property changed), and returns it.
    /// </summary>
    public async Task<ConnInfo> WaitForConnInfoAsync(Func<ConnInfo, bool> match, string what)
    {
        await WaitUntilAsync(() => match(Manager.ConnInfo) && _connInfos.LastOrDefault() == Manager.ConnInfo, what);
        return Manager.ConnInfo;
    }

    /// <summary>Waits until up on <paramref name="on"/>, with both the connInfo and the state change that go with it received.</summary>
    public async Task<ConnInfo> WaitUpAsync(SimulatedPbx on, bool standby = false)
    {
        var state = standby ? RedundancyState.Standby : RedundancyState.Connected;
        var what = $"up (standby {standby}) on {on}";
        var info = await WaitForConnInfoAsync(c => c.Up && c.Standby == standby && c.Cur == on.Address, what);
        await WaitUntilAsync(() => Changes.LastOrDefault()?.Current == state, $"{what}: the change to {state}");
        return info;
    }

    /// <summary>Waits until both observables have completed, after the manager was disposed.</summary>
    public Task WaitCompletedAsync() => WaitUntilAsync(() => Completed, "both observables to complete");

    /// <summary>Waits until the manager is in Failover with its next attempt scheduled, then moves the clock there.</summary>
    public async Task<TimeSpan> SkipBackoffAsync()
    {
        var seen = _skippedBackoffs;
        await WaitUntilAsync(() => Changes.Count(c => c.Current == RedundancyState.Failover) > seen, "a scheduled backoff");
        var change = Changes.Where(c => c.Current == RedundancyState.Failover).ElementAt(seen);
        _skippedBackoffs = seen + 1;
        var due = change.NextAttemptAt!.Value;
        var wait = due - change.Timestamp;
        if (due > Time.GetUtcNow())
        {
            Time.SetUtcNow(due);
        }

        // Failover is published once the backoff timer exists (BackoffScheduler): one move of the clock ends the wait.
        await WaitUntilAsync(() => Changes.Count(c => c.Previous == RedundancyState.Failover) > seen, "the end of the backoff");
        return wait;
    }

    /// <summary>Waits until the manager has entered Failover <paramref name="count"/> times in all.</summary>
    public Task WaitForFailoversAsync(int count) =>
        WaitUntilAsync(() => Changes.Count(c => c.Current == RedundancyState.Failover) >= count, $"{count} failovers");

    /// <summary>
    /// Moves the clock on in steps of <paramref name="step"/> until <paramref name="condition"/> holds, letting the
    /// manager react between steps; for timeouts whose timer is created inside an attempt already in flight.
    /// </summary>
    public async Task AdvanceUntilAsync(Func<bool> condition, TimeSpan step, int maxSteps, string what)
    {
        for (var i = 0; i < maxSteps && !condition(); i++)
        {
            Time.Advance(step);
            await _signal.WaitAsync(TimeSpan.FromMilliseconds(20), TestContext.Current.CancellationToken);
        }

        await WaitUntilAsync(condition, what);
    }

    /// <summary>The PBXes the manager tried, in order (from the simulator's record).</summary>
    public IReadOnlyList<PbxAddress> AttemptedPbxes() => [.. Sim.Attempts.Select(a => a.Pbx)];

    public IEnumerable<int> LogEventIds() => Logs.Select(l => l.Id.Id);

    public async ValueTask DisposeAsync()
    {
        if (Manager is not null)
        {
            await Manager.DisposeAsync();
        }

        // Every scenario, whatever it tests, also checks that neither the user's password nor a session the simulator
        // issued reached a log record.
        LogSecrets.AssertAbsent(Logs, [Password, .. Sim.IssuedSecrets]);

        foreach (var subscription in _subscriptions)
        {
            subscription.Dispose();
        }

        Sim.Dispose();
        LoggerFactory.Dispose();
        _signal.Dispose();
    }

    /// <summary>Asserts that no log line or exception message carried the password.</summary>
    public void ShouldNotHaveLoggedSecrets() => LogSecrets.AssertAbsent(Logs, [Password, .. Sim.IssuedSecrets]);
}
