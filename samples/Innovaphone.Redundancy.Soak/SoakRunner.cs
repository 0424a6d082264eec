using System.Diagnostics;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Transport.WebSockets;

namespace Innovaphone.Redundancy.Soak;

/// <summary>What one soak run does. Configure with <c>with</c>.</summary>
public sealed record SoakOptions
{
    /// <summary>How many managers (each its own user and WebSocket transport) run at once. Default: 10.</summary>
    public int Managers { get; init; } = 10;

    /// <summary>How long faults are injected. Default: 10 s.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The seed of the fault schedule. Default: 1.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>The time between two fault actions (a fault or a repair). Default: 250 ms.</summary>
    public TimeSpan FaultInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How long a manager may take, after everything has been healed, to be up on the user's PBX; one that is not is
    /// stuck. Default: 15 s.
    /// </summary>
    public TimeSpan RecoveryBound { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long every manager must stay up on its user's PBX, with no connInfo change, before the run counts them as
    /// recovered; faults injected just before the final heal still reach the clients during this time. Default: 1 s.
    /// </summary>
    public TimeSpan SettleTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Where progress lines go. Default: <see langword="null"/> (nowhere).</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>The figures of one soak run.</summary>
/// <param name="Managers">How many managers ran.</param>
/// <param name="Duration">How long faults were injected.</param>
/// <param name="Seed">The seed of the fault schedule.</param>
/// <param name="FaultsInjected">Kills and partitions (client and PBX-to-PBX) injected.</param>
/// <param name="Repairs">Revivals and heals during the run (the final heal-all not counted).</param>
/// <param name="Recoveries">How often a manager went from down to up again.</param>
/// <param name="MaxTimeToRecover">
/// The longest recovery: from a manager going down, or from the last repair if that came later, until it was up again.
/// </param>
/// <param name="FinalRecovery">From healing everything at the end until the last manager was up on its user's PBX.</param>
/// <param name="StuckManagers">Managers not up on their user's PBX within the bound after everything was healed.</param>
/// <param name="LeakedSockets">Emulator sockets still open after every manager and transport was disposed.</param>
/// <param name="LeakedConnections">Simulated logins still live after every manager and transport was disposed.</param>
public sealed record SoakReport(
    int Managers,
    TimeSpan Duration,
    int Seed,
    int FaultsInjected,
    int Repairs,
    int Recoveries,
    TimeSpan MaxTimeToRecover,
    TimeSpan FinalRecovery,
    int StuckManagers,
    int LeakedSockets,
    int LeakedConnections)
{
    /// <summary>No manager stuck, nothing leaked.</summary>
    public bool Passed => StuckManagers == 0 && LeakedSockets == 0 && LeakedConnections == 0;

    /// <summary>The figures, one per line.</summary>
    public override string ToString() => string.Join(
        Environment.NewLine,
        $"managers:             {Managers}",
        $"duration:             {Duration.TotalSeconds:0.#} s",
        $"seed:                 {Seed}",
        $"faults injected:      {FaultsInjected}",
        $"repairs:              {Repairs}",
        $"recoveries:           {Recoveries}",
        $"max time to recover:  {MaxTimeToRecover.TotalMilliseconds:0} ms",
        $"final recovery:       {FinalRecovery.TotalMilliseconds:0} ms",
        $"stuck managers:       {StuckManagers}",
        $"leaked sockets:       {LeakedSockets}",
        $"leaked connections:   {LeakedConnections}",
        $"result:               {(Passed ? "PASS" : "FAIL")}");
}

/// <summary>
/// Runs managers with the real WebSocket transport against a loopback <see cref="PbxEmulator"/> (master, two slaves,
/// an explicit standby for slave 2; the users live on the slaves) while PBXes are killed, revived, cut off and
/// partitioned at random; then heals everything and checks that every manager comes back and nothing leaks.
/// </summary>
public static class SoakRunner
{
    private const string Password = "soak-Pa55";
    private static readonly TimeSpan DrainBound = TimeSpan.FromSeconds(10);

    /// <summary>Runs one soak and returns its figures.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static async Task<SoakReport> RunAsync(SoakOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Managers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Duration, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.FaultInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SettleTime, TimeSpan.Zero);

        var log = options.Log ?? (_ => { });
        var random = new Random(options.Seed);
        await using var emulator = new PbxEmulator();
        var sim = emulator.System;
        var master = await emulator.AddMasterAsync(cancellationToken: cancellationToken);
        var slave1 = await emulator.AddSlaveAsync(master, cancellationToken: cancellationToken);
        var slave2 = await emulator.AddSlaveAsync(master, cancellationToken: cancellationToken);
        var standby = await emulator.AddStandbyAsync(slave2, cancellationToken: cancellationToken);
        SimulatedPbx[] pbxes = [master, slave1, slave2, standby];
        var faults = new Faults(sim, pbxes);

        var signal = new SemaphoreSlim(0);
        var clients = new List<Client>();
        try
        {
            for (var i = 0; i < options.Managers; i++)
            {
                var user = $"user{i}";
                var home = i % 2 == 0 ? slave1 : slave2;
                sim.AddUser(user, Password, home);
                clients.Add(new Client(user, home, master, emulator, faults, signal));
            }

            foreach (var client in clients)
            {
                await client.Manager.StartAsync(cancellationToken);
            }

            log($"{clients.Count} managers started against {string.Join(", ", pbxes.Select(p => p.Address))}");
            var injected = 0;
            var repairs = 0;
            using (var ticks = new PeriodicTimer(options.FaultInterval))
            {
                var end = Stopwatch.GetTimestamp();
                while (Stopwatch.GetElapsedTime(end) < options.Duration && await ticks.WaitForNextTickAsync(cancellationToken))
                {
                    if (faults.Step(random))
                    {
                        injected++;
                    }
                    else
                    {
                        repairs++;
                    }
                }
            }

            log($"{injected} faults injected, {repairs} repairs; healing everything");
            faults.HealAll();
            var healed = Stopwatch.GetTimestamp();
            var (stuck, homeAt) = await SettleAsync(clients, signal, options, cancellationToken);
            var finalRecovery = Stopwatch.GetElapsedTime(healed, homeAt ?? Stopwatch.GetTimestamp());
            foreach (var line in stuck)
            {
                log(line);
            }

            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }

            clients.Clear();
            var drained = await DrainAsync(() => emulator.OpenSocketCount == 0 && sim.LiveConnectionCount == 0, cancellationToken);
            if (!drained)
            {
                log($"after dispose: {emulator.OpenSocketCount} sockets open, {sim.LiveConnectionCount} logins live");
            }

            var all = faults.Recoveries;
            return new SoakReport(
                options.Managers,
                options.Duration,
                options.Seed,
                injected,
                repairs,
                all.Count,
                all.Count == 0 ? TimeSpan.Zero : all.Max(),
                finalRecovery,
                stuck.Count,
                emulator.OpenSocketCount,
                sim.LiveConnectionCount);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }

            signal.Dispose();
        }
    }

    /// <summary>
    /// Waits, up to the recovery bound, until every manager is up on its user's PBX and has stayed so, with no
    /// connInfo change, for the settle time. One instant with everyone home proves nothing: a fault injected just
    /// before the heal (a killed PBX's close frames) reaches the clients over real sockets a moment later and sends
    /// them round once more.
    /// </summary>
    /// <returns>
    /// A line for each manager not home when the wait ended (stuck: the bound passed), and when the last stretch
    /// with everyone home began (<see langword="null"/> when it never did).
    /// </returns>
    private static async Task<(List<string> Stuck, long? HomeAt)> SettleAsync(
        List<Client> clients, SemaphoreSlim signal, SoakOptions options, CancellationToken cancellationToken)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(options.RecoveryBound);
        long? homeAt = null;
        try
        {
            while (true)
            {
                if (!clients.TrueForAll(c => c.IsHome))
                {
                    homeAt = null;
                    await signal.WaitAsync(bound.Token);
                    continue;
                }

                homeAt ??= Stopwatch.GetTimestamp();
                if (!await signal.WaitAsync(options.SettleTime, bound.Token) && clients.TrueForAll(c => c.IsHome))
                {
                    return ([], homeAt);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The bound passed: whoever is not home now is stuck.
            var stuck = clients
                .Where(c => !c.IsHome)
                .Select(c => $"stuck: {c.User} (home {c.Home.Address}) in {c.Manager.State}, connInfo {c.Manager.ConnInfo}")
                .ToList();
            return (stuck, stuck.Count == 0 ? homeAt : null);
        }
    }

    /// <summary>Sockets close asynchronously on the PBX side after the client's close: waits for that, bounded.</summary>
    private static async Task<bool> DrainAsync(Func<bool> drained, CancellationToken cancellationToken)
    {
        using var ticks = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        var started = Stopwatch.GetTimestamp();
        while (!drained())
        {
            if (Stopwatch.GetElapsedTime(started) > DrainBound)
            {
                return false;
            }

            await ticks.WaitForNextTickAsync(cancellationToken);
        }

        return true;
    }

    /// <summary>The fault schedule and what is broken now; records recoveries relative to the last repair.</summary>
    private sealed class Faults(SimulatedPbxSystem sim, SimulatedPbx[] pbxes)
    {
        private readonly object _gate = new();
        private readonly HashSet<SimulatedPbx> _dead = [];
        private readonly HashSet<SimulatedPbx> _cutOff = [];
        private readonly HashSet<(SimulatedPbx, SimulatedPbx)> _partitions = [];
        private readonly List<TimeSpan> _recoveries = [];
        private long _lastRepair;

        public IReadOnlyList<TimeSpan> Recoveries
        {
            get
            {
                lock (_gate)
                {
                    return [.. _recoveries];
                }
            }
        }

        /// <summary>One action: a fault (returns true) or the repair of a fault in place (returns false).</summary>
        public bool Step(Random random)
        {
            var broken = _dead.Count + _cutOff.Count + _partitions.Count;

            // Repair more often the more is broken, so that the system keeps coming back.
            if (broken > 0 && random.Next(4) < Math.Min(3, broken))
            {
                var pick = random.Next(broken);
                if (pick < _dead.Count)
                {
                    var pbx = _dead.ElementAt(pick);
                    _dead.Remove(pbx);
                    sim.Revive(pbx);
                }
                else if ((pick -= _dead.Count) < _cutOff.Count)
                {
                    var pbx = _cutOff.ElementAt(pick);
                    _cutOff.Remove(pbx);
                    sim.HealClient(pbx);
                }
                else
                {
                    var (a, b) = _partitions.ElementAt(pick - _cutOff.Count);
                    _partitions.Remove((a, b));
                    sim.Heal(a, b);
                }

                Repaired();
                return false;
            }

            var target = pbxes[random.Next(pbxes.Length)];
            switch (random.Next(3))
            {
                case 0:
                    _dead.Add(target);
                    sim.Kill(target);
                    break;
                case 1:
                    _cutOff.Add(target);
                    sim.PartitionClient(target);
                    break;
                default:
                    var other = pbxes[(Array.IndexOf(pbxes, target) + 1 + random.Next(pbxes.Length - 1)) % pbxes.Length];
                    if (!_partitions.Contains((other, target)))
                    {
                        _partitions.Add((target, other));
                    }

                    sim.Partition(target, other);
                    break;
            }

            return true;
        }

        public void HealAll()
        {
            foreach (var pbx in pbxes)
            {
                sim.Revive(pbx);
                sim.HealClient(pbx);
                foreach (var other in pbxes.Where(o => o != pbx))
                {
                    sim.Heal(pbx, other);
                }
            }

            _dead.Clear();
            _cutOff.Clear();
            _partitions.Clear();
            Repaired();
        }

        public void Recovered(long downAt)
        {
            lock (_gate)
            {
                _recoveries.Add(Stopwatch.GetElapsedTime(Math.Max(downAt, _lastRepair)));
            }
        }

        private void Repaired()
        {
            lock (_gate)
            {
                _lastRepair = Stopwatch.GetTimestamp();
            }
        }
    }

    /// <summary>One user: a WebSocket transport, a manager and what it went through.</summary>
    private sealed class Client : IAsyncDisposable
    {
        private readonly MyAppsWebSocketTransport _transport;
        private readonly IDisposable _subscription;
        private readonly Faults _faults;
        private readonly SemaphoreSlim _signal;
        private bool _up;
        private long? _downAt;
        private int _disposed;

        public Client(string user, SimulatedPbx home, SimulatedPbx primary, PbxEmulator emulator, Faults faults, SemaphoreSlim signal)
        {
            User = user;
            Home = home;
            _faults = faults;
            _signal = signal;
            _transport = new MyAppsWebSocketTransport(new MyAppsTransportOptions
            {
                Username = user,
                Password = Password,
                AllowInsecure = true,
                ConnectTimeout = TimeSpan.FromSeconds(2),
                LoginTimeout = TimeSpan.FromSeconds(2),
                CloseTimeout = TimeSpan.FromSeconds(1),
            });
            Manager = new RedundancyManager(new RedundancyOptions
            {
                Primary = primary.Address,
                Transport = _transport,
                User = user,
                Scheme = emulator.Scheme,
                AttemptTimeout = TimeSpan.FromSeconds(3),
                BackoffInitial = TimeSpan.FromMilliseconds(50),
                BackoffMax = TimeSpan.FromSeconds(1),
                MinStableConnection = TimeSpan.FromMilliseconds(500),
            });
            _subscription = Manager.ConnInfoChanges.Subscribe(OnConnInfo);
        }

        public string User { get; }

        public SimulatedPbx Home { get; }

        public RedundancyManager Manager { get; }

        public bool IsHome => Manager.State == RedundancyState.Connected && Manager.ConnInfo is { Up: true, Standby: false } info && info.Cur == Home.Address;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            await Manager.DisposeAsync();
            _subscription.Dispose();
            await _transport.DisposeAsync();
        }

        // Notifications come one at a time from the manager's loop: no lock needed for _up and _downAt.
        private void OnConnInfo(ConnInfo info)
        {
            if (_up && !info.Up)
            {
                _downAt = Stopwatch.GetTimestamp();
            }
            else if (!_up && info.Up && _downAt is long downAt)
            {
                _faults.Recovered(downAt);
                _downAt = null;
            }

            _up = info.Up;
            _signal.Release();
        }
    }
}
