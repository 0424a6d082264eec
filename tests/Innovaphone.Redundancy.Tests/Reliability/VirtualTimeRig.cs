using System.Collections.Concurrent;
using Innovaphone.Redundancy.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Innovaphone.Redundancy.Tests.Reliability;

/// <summary>
/// One manager on one simulated PBX system in virtual time, recording every notification, for the property test.
/// Topology: master (the primary), slave 1, slave 2 (the user's PBX) and an explicit standby PBX for slave 2.
/// Nothing sleeps: waits are for notifications, bounded in real time.
/// </summary>
internal sealed class VirtualTimeRig : IAsyncDisposable
{
    public const string User = "alice";
    public const string Password = "s3cret-Pa55";

    private readonly ConcurrentQueue<ConnInfo> _connInfos = new();
    private readonly ConcurrentQueue<RedundancyStateChange> _changes = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly List<IDisposable> _subscriptions = [];
    private int _connInfoCompleted;
    private int _stateChangesCompleted;

    public VirtualTimeRig(int jitterSeed)
    {
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        Sim = new SimulatedPbxSystem(Time);
        Master = Sim.AddMaster("master.example.com");
        Slave1 = Sim.AddSlave("slave1.example.com", Master);
        Slave2 = Sim.AddSlave("slave2.example.com", Master);
        Standby = Sim.AddStandby("standby.example.com", Slave2);
        Sim.AddUser(User, Password, Slave2);
        Pbxes = [Master, Slave1, Slave2, Standby];

        var random = new Random(jitterSeed);
        Manager = new RedundancyManager(new RedundancyOptions
        {
            Primary = Master.Address,
            Transport = Sim.CreateTransport(User, Password),
            User = User,
            TimeProvider = Time,
            AttemptTimeout = TimeSpan.FromSeconds(3),
            BackoffInitial = TimeSpan.FromSeconds(1),
            BackoffMax = TimeSpan.FromSeconds(8),
            BackoffJitter = true,
            Randomizer = random.NextDouble,

            // Virtual time does not pass while a history runs, so every connection would look unstable.
            MinStableConnection = TimeSpan.Zero,
        });
        _subscriptions.Add(Manager.ConnInfoChanges.Subscribe(
            info => { _connInfos.Enqueue(info); _signal.Release(); },
            () => { Interlocked.Exchange(ref _connInfoCompleted, 1); _signal.Release(); }));
        _subscriptions.Add(Manager.StateChanges.Subscribe(
            change => { _changes.Enqueue(change); _signal.Release(); },
            () => { Interlocked.Exchange(ref _stateChangesCompleted, 1); _signal.Release(); }));
    }

    public FakeTimeProvider Time { get; }

    public SimulatedPbxSystem Sim { get; }

    public SimulatedPbx Master { get; }

    public SimulatedPbx Slave1 { get; }

    public SimulatedPbx Slave2 { get; }

    public SimulatedPbx Standby { get; }

    public IReadOnlyList<SimulatedPbx> Pbxes { get; }

    public RedundancyManager Manager { get; }

    public IReadOnlyList<ConnInfo> ConnInfos => [.. _connInfos];

    public IReadOnlyList<RedundancyStateChange> Changes => [.. _changes];

    public bool ObservablesCompleted => Volatile.Read(ref _connInfoCompleted) == 1 && Volatile.Read(ref _stateChangesCompleted) == 1;

    /// <summary>Waits for the next notification, at most <paramref name="bound"/> of real time.</summary>
    public Task<bool> NextNotificationAsync(TimeSpan bound, CancellationToken cancellationToken) => _signal.WaitAsync(bound, cancellationToken);

    /// <summary>Waits (without moving time) until <paramref name="condition"/> holds or <paramref name="guard"/> of real time has passed.</summary>
    public async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan guard, CancellationToken cancellationToken)
    {
        var started = TimeProvider.System.GetTimestamp();
        while (!condition())
        {
            if (TimeProvider.System.GetElapsedTime(started) > guard)
            {
                return false;
            }

            await NextNotificationAsync(TimeSpan.FromMilliseconds(5), cancellationToken);
        }

        return true;
    }

    /// <summary>Heals every partition, revives every PBX and ends every hang.</summary>
    public void HealEverything()
    {
        foreach (var pbx in Pbxes)
        {
            Sim.Revive(pbx);
            Sim.HealClient(pbx);
            Sim.SetHanging(pbx, false);
            foreach (var other in Pbxes.Where(o => o != pbx))
            {
                Sim.Heal(pbx, other);
            }
        }
    }

    /// <summary>
    /// Moves virtual time on (one second whenever the manager has been quiet for a few milliseconds of real time)
    /// until <paramref name="condition"/> holds or <paramref name="guard"/> of real time has passed.
    /// </summary>
    public async Task<bool> AdvanceUntilAsync(Func<bool> condition, TimeSpan guard, CancellationToken cancellationToken)
    {
        var started = TimeProvider.System.GetTimestamp();
        while (!condition())
        {
            if (TimeProvider.System.GetElapsedTime(started) > guard)
            {
                return false;
            }

            if (!await NextNotificationAsync(TimeSpan.FromMilliseconds(5), cancellationToken))
            {
                Time.Advance(TimeSpan.FromSeconds(1));
            }
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await Manager.DisposeAsync();
        foreach (var subscription in _subscriptions)
        {
            subscription.Dispose();
        }

        RunSecrets.AddSecrets([Password, .. Sim.IssuedSecrets]);
        Sim.Dispose();
        _signal.Dispose();
    }
}
