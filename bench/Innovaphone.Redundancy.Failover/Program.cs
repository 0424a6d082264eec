using System.Diagnostics;
using System.Globalization;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Transport;
using Innovaphone.Redundancy.Transport.WebSockets;

namespace Innovaphone.Redundancy.Failover;

/// <summary>
/// Failover latency over real loopback WebSockets: the myApps transport against the <see cref="PbxEmulator"/>.
/// Topology: a master PBX (the user's PBX and the primary) and an explicit standby PBX for it (the secondary).
/// Usage: <c>[--runs N] [--peer-runs N] [--scale N] [--idle SECONDS] [--quick]</c>.
/// </summary>
internal static class Program
{
    private const string Password = "bench-Pa55";
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(3);

    /// <summary>innovaphone's JS AppWebsocket: first retry after 1 s, doubling.</summary>
    private static readonly TimeSpan[] JsSchedule = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)];

    /// <summary>SignalR's default reconnect schedule: 0, 2, 10, 30 s.</summary>
    private static readonly TimeSpan[] SignalRSchedule = [TimeSpan.Zero, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30)];

    public static async Task<int> Main(string[] args)
    {
        var quick = args.Contains("--quick");
        var runs = Option(args, "--runs", 100);
        var peerRuns = Option(args, "--peer-runs", quick ? 5 : 50);
        var scale = Option(args, "--scale", 0);
        var idle = Option(args, "--idle", quick ? 5 : 20);

        Console.WriteLine($"# failover harness: runs {runs}, peer runs {peerRuns}, scale {scale}, idle {idle} s, {Environment.ProcessorCount} cores");
        await LatencyAsync(runs, peerRuns);
        if (scale > 0)
        {
            await ScaleAsync(scale, TimeSpan.FromSeconds(idle));
        }

        return 0;
    }

    private static async Task LatencyAsync(int runs, int peerRuns)
    {
        await using var emulator = new PbxEmulator();
        var sim = emulator.System;
        var master = await emulator.AddMasterAsync();
        var standby = await emulator.AddStandbyAsync(master);
        foreach (var user in new[] { "floor", "alice", "peer" })
        {
            sim.AddUser(user, Password, master);
        }

        // Floor: one transport call (TCP + WebSocket upgrade + myApps login) to a live PBX. "warm" reuses the transport's
        // session, as the manager does on every failover; "cold" is a fresh transport logging in with the password.
        await using var floorTransport = new MyAppsWebSocketTransport(TransportOptions("floor"));
        var floor = new List<double>();
        for (var i = -3; i < runs; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await using var connection = await LogInAsync(floorTransport, master);
            if (i >= 0)
            {
                floor.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }

        var cold = new List<double>();
        for (var i = -3; i < runs; i++)
        {
            await using var transport = new MyAppsWebSocketTransport(TransportOptions("floor"));
            var start = Stopwatch.GetTimestamp();
            await using var connection = await LogInAsync(transport, master);
            if (i >= 0)
            {
                cold.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }

        var f = Figures.Summarise(floor);
        var c = Figures.Summarise(cold);
        Figures.Print("floor.connect_login.p50", f.P50, "ms", 1);
        Figures.Print("floor.connect_login.p99", f.P99, "ms", 1);
        Figures.Print("floor.connect_login_cold.p50", c.P50, "ms", c.P50 / f.P50);
        Figures.Print("floor.connect_login_cold.p99", c.P99, "ms", c.P99 / f.P99);

        // Ours: the manager with the WebSocket transport, library defaults except MinStableConnection (the runs kill a
        // PBX milliseconds after a login, which the flapping guard would rightly meet with a backoff).
        var (kill, back) = await OursAsync(sim, master, standby, runs);
        var js = await PeerAsync(sim, master, standby, peerRuns, JsSchedule);
        var signalR = await PeerAsync(sim, master, standby, runs, SignalRSchedule);

        Report("failover.kill", kill, f, js.Kill, signalR.Kill);
        Report("failover.standbyback", back, f, js.Back, signalR.Back);
    }

    private static void Report(string name, List<double> ours, (double P50, double P99, double Max) floor, List<double> js, List<double> signalR)
    {
        var o = Figures.Summarise(ours);
        var j = Figures.Summarise(js);
        var s = Figures.Summarise(signalR);
        Figures.Print($"{name}.ours.p50", o.P50, "ms", o.P50 / floor.P50);
        Figures.Print($"{name}.ours.p99", o.P99, "ms", o.P99 / floor.P99);
        Figures.Print($"{name}.peer_js_appwebsocket.p50", j.P50, "ms", o.P50 / j.P50);
        Figures.Print($"{name}.peer_js_appwebsocket.p99", j.P99, "ms", o.P99 / j.P99);
        Figures.Print($"{name}.peer_signalr_default.p50", s.P50, "ms", o.P50 / s.P50);
        Figures.Print($"{name}.peer_signalr_default.p99", s.P99, "ms", o.P99 / s.P99);
    }

    private static async Task<(List<double> Kill, List<double> Back)> OursAsync(SimulatedPbxSystem sim, SimulatedPbx master, SimulatedPbx standby, int runs)
    {
        await using var transport = new MyAppsWebSocketTransport(TransportOptions("alice"));
        await using var manager = new RedundancyManager(ManagerOptions("alice", master, transport));
        var up = WhenConnInfo(manager, i => i.Up && !i.Standby && i.Cur == master.Address);
        await manager.StartAsync();
        await up.Task.WaitAsync(Guard);
        up.Dispose();

        var kill = new List<double>();
        var back = new List<double>();
        for (var i = -3; i < runs; i++)
        {
            // Abrupt death of the current PBX: its sockets are reset, new connections refused.
            using (var onStandby = WhenConnInfo(manager, c => c.Up && c.Cur == standby.Address))
            {
                var start = Stopwatch.GetTimestamp();
                sim.Kill(master);
                var end = await onStandby.Task.WaitAsync(Guard);
                Add(kill, i, start, end);
            }

            // The user's PBX is back: the standby PBX sends StandbyBack and closes; the manager goes home.
            using (var home = WhenConnInfo(manager, c => c.Up && !c.Standby && c.Cur == master.Address))
            {
                var start = Stopwatch.GetTimestamp();
                sim.Revive(master);
                var end = await home.Task.WaitAsync(Guard);
                Add(back, i, start, end);
            }
        }

        return (kill, back);
    }

    /// <summary>
    /// A hand-rolled reconnect loop over the same transport, scheduled like a peer library: wait for the loss, then
    /// retry after each delay of <paramref name="schedule"/>. It is given the live PBX first (the standby after a kill,
    /// the user's PBX after StandbyBack), so it measures detection + the peer's first retry delay + one connect and login.
    /// </summary>
    private static async Task<(List<double> Kill, List<double> Back)> PeerAsync(
        SimulatedPbxSystem sim, SimulatedPbx master, SimulatedPbx standby, int runs, TimeSpan[] schedule)
    {
        await using var transport = new MyAppsWebSocketTransport(TransportOptions("peer"));
        var connection = await LogInAsync(transport, master);
        var kill = new List<double>();
        var back = new List<double>();
        try
        {
            for (var i = -1; i < runs; i++)
            {
                var start = Stopwatch.GetTimestamp();
                sim.Kill(master);
                await connection.Lost.WaitAsync(Guard);
                await connection.DisposeAsync();
                connection = await ReconnectAsync(transport, schedule, [standby, master]);
                Add(kill, i, start, Stopwatch.GetTimestamp());

                start = Stopwatch.GetTimestamp();
                sim.Revive(master);
                await connection.Lost.WaitAsync(Guard);
                await connection.DisposeAsync();
                connection = await ReconnectAsync(transport, schedule, [master]);
                Add(back, i, start, Stopwatch.GetTimestamp());
            }
        }
        finally
        {
            await connection.DisposeAsync();
        }

        return (kill, back);
    }

    private static async Task<IPbxConnection> ReconnectAsync(MyAppsWebSocketTransport transport, TimeSpan[] schedule, SimulatedPbx[] targets)
    {
        for (var attempt = 0; ; attempt++)
        {
            var delay = schedule[Math.Min(attempt, schedule.Length - 1)];
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay);
            }

            var target = targets[attempt % targets.Length];
            var outcome = await transport.ConnectAsync(new PbxLoginRequest(target.Address, PbxScheme.Ws, attempt + 1), CancellationToken.None);
            if (outcome is LoggedIn loggedIn)
            {
                return loggedIn.Connection;
            }
        }
    }

    private static async Task ScaleAsync(int n, TimeSpan idle)
    {
        await using var emulator = new PbxEmulator();
        var sim = emulator.System;
        var master = await emulator.AddMasterAsync();
        var standby = await emulator.AddStandbyAsync(master);
        for (var i = 0; i < n; i++)
        {
            sim.AddUser(User(i), Password, master);
        }

        var before = GC.GetTotalMemory(forceFullCollection: true);
        var transports = new MyAppsWebSocketTransport[n];
        var managers = new RedundancyManager[n];
        for (var i = 0; i < n; i++)
        {
            transports[i] = new MyAppsWebSocketTransport(TransportOptions(User(i)));
            managers[i] = new RedundancyManager(ManagerOptions(User(i), master, transports[i]));
        }

        try
        {
            var start = Stopwatch.GetTimestamp();
            var connected = await AllAsync(managers, start, c => c.Up && !c.Standby && c.Cur == master.Address, () => Task.WhenAll(managers.Select(m => m.StartAsync())));
            var all = Figures.Summarise(connected);
            Figures.Print($"scale{n}.start.all_up.max", all.Max, "ms");

            var after = GC.GetTotalMemory(forceFullCollection: true);
            Figures.Print($"scale{n}.memory_per_connected_manager", (after - before) / (double)n / 1024, "KiB");

            using (var process = Process.GetCurrentProcess())
            {
                // The first seconds after a burst of logins still see tiered JIT recompilation and GC work of the start:
                // reported separately, so that idle_cpu is the steady state.
                var settle = process.TotalProcessorTime;
                var settleWall = Stopwatch.GetTimestamp();
                await Task.Delay(SettleTime);
                process.Refresh();
                Figures.Print($"scale{n}.settle_cpu", (process.TotalProcessorTime - settle).TotalMilliseconds / Stopwatch.GetElapsedTime(settleWall).TotalMilliseconds * 100, "%core");
                var cpu = process.TotalProcessorTime;
                var wall = Stopwatch.GetTimestamp();
                await Task.Delay(idle);
                process.Refresh();
                var used = process.TotalProcessorTime - cpu;
                Figures.Print($"scale{n}.idle_cpu", used.TotalMilliseconds / Stopwatch.GetElapsedTime(wall).TotalMilliseconds * 100, "%core");
            }

            var killedAt = sim.TimeProvider.GetUtcNow();
            start = Stopwatch.GetTimestamp();
            var kill = await AllAsync(managers, start, c => c.Up && c.Cur == standby.Address, () =>
            {
                sim.Kill(master);
                return Task.CompletedTask;
            });
            var revivedAt = sim.TimeProvider.GetUtcNow();
            var killPeak = PeakPerSecond(sim.Attempts, killedAt, revivedAt);

            start = Stopwatch.GetTimestamp();
            var back = await AllAsync(managers, start, c => c.Up && !c.Standby && c.Cur == master.Address, () =>
            {
                sim.Revive(master);
                return Task.CompletedTask;
            });
            var backPeak = PeakPerSecond(sim.Attempts, revivedAt, DateTimeOffset.MaxValue);

            var k = Figures.Summarise(kill);
            Figures.Print($"scale{n}.kill.all_up.p50", k.P50, "ms");
            Figures.Print($"scale{n}.kill.all_up.p99", k.P99, "ms");
            Figures.Print($"scale{n}.kill.all_up.max", k.Max, "ms");
            Figures.Print($"scale{n}.kill.peak_attempts", killPeak, "attempts/s");
            var b = Figures.Summarise(back);
            Figures.Print($"scale{n}.standbyback.all_up.p50", b.P50, "ms");
            Figures.Print($"scale{n}.standbyback.all_up.p99", b.P99, "ms");
            Figures.Print($"scale{n}.standbyback.all_up.max", b.Max, "ms");
            Figures.Print($"scale{n}.standbyback.peak_attempts", backPeak, "attempts/s");
        }
        finally
        {
            await Task.WhenAll(managers.Where(m => m is not null).Select(m => m.DisposeAsync().AsTask()));
            await Task.WhenAll(transports.Where(t => t is not null).Select(t => t.DisposeAsync().AsTask()));
        }
    }

    /// <summary>Subscribes every manager to <paramref name="condition"/>, runs <paramref name="act"/>, and returns each manager's time to it.</summary>
    private static async Task<List<double>> AllAsync(RedundancyManager[] managers, long start, Func<ConnInfo, bool> condition, Func<Task> act)
    {
        var waits = managers.Select(m => WhenConnInfo(m, condition)).ToList();
        try
        {
            await act();
            var ends = await Task.WhenAll(waits.Select(w => w.Task)).WaitAsync(Guard);
            return [.. ends.Select(e => Stopwatch.GetElapsedTime(start, e).TotalMilliseconds)];
        }
        finally
        {
            waits.ForEach(w => w.Dispose());
        }
    }

    /// <summary>The most login attempts the PBXes saw within any one second in [from, to).</summary>
    private static int PeakPerSecond(IReadOnlyList<SimulatedLoginAttempt> attempts, DateTimeOffset from, DateTimeOffset to)
    {
        var times = attempts.Where(a => a.Time >= from && a.Time < to).Select(a => a.Time).Order().ToList();
        var peak = 0;
        for (int head = 0, tail = 0; head < times.Count; head++)
        {
            while (times[head] - times[tail] >= TimeSpan.FromSeconds(1))
            {
                tail++;
            }

            peak = Math.Max(peak, head - tail + 1);
        }

        return peak;
    }

    private static void Add(List<double> samples, int run, long start, long end)
    {
        // Negative runs are warm-up (JIT, connection pools) and not recorded.
        if (run >= 0)
        {
            samples.Add(Stopwatch.GetElapsedTime(start, end).TotalMilliseconds);
        }
    }

    private static async Task<IPbxConnection> LogInAsync(MyAppsWebSocketTransport transport, SimulatedPbx pbx)
    {
        var outcome = await transport.ConnectAsync(new PbxLoginRequest(pbx.Address, PbxScheme.Ws, 1), CancellationToken.None);
        return outcome is LoggedIn loggedIn
            ? loggedIn.Connection
            : throw new InvalidOperationException($"Login to {pbx} did not succeed: {outcome}");
    }

    private static ConnInfoWait WhenConnInfo(RedundancyManager manager, Func<ConnInfo, bool> condition) => new(manager, condition);

    private static MyAppsTransportOptions TransportOptions(string user) => new()
    {
        Username = user,
        Password = Password,
        AllowInsecure = true,
    };

    private static RedundancyOptions ManagerOptions(string user, SimulatedPbx primary, IPbxTransport transport) => new()
    {
        Primary = primary.Address,
        Transport = transport,
        User = user,
        Scheme = PbxScheme.Ws,
        MinStableConnection = TimeSpan.Zero,
    };

    private static string User(int i) => string.Create(CultureInfo.InvariantCulture, $"user{i}");

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>Completes with the <see cref="Stopwatch"/> timestamp of the first connInfo that meets the condition.</summary>
    private sealed class ConnInfoWait : IDisposable
    {
        private readonly TaskCompletionSource<long> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly IDisposable _subscription;

        public ConnInfoWait(RedundancyManager manager, Func<ConnInfo, bool> condition) =>
            _subscription = manager.ConnInfoChanges.Subscribe(info =>
            {
                if (condition(info))
                {
                    _done.TrySetResult(Stopwatch.GetTimestamp());
                }
            });

        public Task<long> Task => _done.Task;

        public void Dispose() => _subscription.Dispose();
    }
}
