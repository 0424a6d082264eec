using System.Diagnostics;
using System.Globalization;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Transport.WebSockets;

namespace Innovaphone.Redundancy.Failover;

/// <summary>
/// Failover latency over real loopback WebSockets: the myApps transport against the <see cref="PbxEmulator"/>.
/// Topology: a master PBX (the user's PBX and the primary) and an explicit standby PBX for it (the secondary).
/// Usage: <c>[--runs N] [--peer-runs N] [--halfopen-runs N] [--scale N[,N...]] [--idle SECONDS] [--settle SECONDS] [--jitter-rate LOGINS_PER_S]
/// [--keepalive-interval-ms MS] [--keepalive-timeout-ms MS] [--field-runs N] [--field-slow-runs N] [--quick]</c>.
/// The field cases (<see cref="FieldFailover"/>) run with library defaults.
/// The scale runs serve the emulator from a second process (this program with <c>--serve-emulator</c>), so that memory and
/// CPU are the client's alone.
/// </summary>
internal static class Program
{
    internal const string Password = "bench-Pa55";
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    /// <summary>Thousands of logins on a loaded 2-core box can take minutes: the scale runs wait longer before giving up.</summary>
    private static readonly TimeSpan ScaleGuard = TimeSpan.FromMinutes(5);
    private static TimeSpan s_settleTime = TimeSpan.FromSeconds(10);

    /// <summary>innovaphone's JS AppWebsocket: first retry after 1 s, doubling.</summary>
    private static readonly TimeSpan[] JsSchedule = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)];

    /// <summary>SignalR's default reconnect schedule: 0, 2, 10, 30 s.</summary>
    private static readonly TimeSpan[] SignalRSchedule = [TimeSpan.Zero, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30)];

    private static TimeSpan? s_keepAliveInterval;
    private static string[] s_scaleCases = [];
    private static TimeSpan? s_keepAliveTimeout;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == EmulatorProcess.ServeArgument)
        {
            return await EmulatorProcess.ServeAsync(Option(args, "--users", 0), Password);
        }

        var quick = args.Contains("--quick");
        var runs = Option(args, "--runs", 100);
        var peerRuns = Option(args, "--peer-runs", quick ? 5 : 50);
        var halfOpenRuns = Option(args, "--halfopen-runs", Math.Max(50, runs / 2));
        var scales = OptionList(args, "--scale");

        // The scale run's cases after the idle window: verify (a network change with a live path), kill (two kill/revive
        // cycles), netchange (a network change with the path to the master frozen). A failover needs two sockets per
        // client in the emulator process for a moment: leave kill and netchange out where the open-files limit is below 2N.
        s_scaleCases = args.Contains("--scale-cases") ? [.. args[Array.IndexOf(args, "--scale-cases") + 1].Split(',')] : ["verify", "kill", "netchange"];
        var idle = Option(args, "--idle", quick ? 5 : 60);
        var jitterRate = Option(args, "--jitter-rate", 1000);
        var fieldRuns = Option(args, "--field-runs", quick ? 10 : 30);
        var fieldSlowRuns = Option(args, "--field-slow-runs", quick ? 3 : 5);

        // The quick run keeps its 3 minutes: a shorter settle before the idle window (its idle CPU is then less steady).
        s_settleTime = TimeSpan.FromSeconds(Option(args, "--settle", quick ? 3 : 10));
        if (Option(args, "--keepalive-interval-ms", -1) is var kai and >= 0)
        {
            s_keepAliveInterval = TimeSpan.FromMilliseconds(kai);
        }

        if (Option(args, "--keepalive-timeout-ms", -1) is var kat and >= 0)
        {
            s_keepAliveTimeout = kat == 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(kat);
        }

        Console.WriteLine($"# failover harness: runs {runs}, peer runs {peerRuns}, half-open runs {halfOpenRuns}, field runs {fieldRuns}/{fieldSlowRuns}, scale {string.Join(',', scales)}, " +
                          $"idle {idle} s, jitter rate {jitterRate}/s, scale keepalive {ScaleTransportOptions("x").KeepAliveInterval}/{ScaleTransportOptions("x").KeepAliveTimeout}, " +
                          $"{Environment.ProcessorCount} cores");
        if (runs > 0)
        {
            await LatencyAsync(runs, peerRuns);
        }

        if (halfOpenRuns > 0)
        {
            await HalfOpenAsync(halfOpenRuns);
        }

        if (fieldRuns > 0)
        {
            await FieldFailover.RunAsync(fieldRuns, fieldSlowRuns);
        }

        foreach (var scale in scales)
        {
            await ScaleAsync(scale, TimeSpan.FromSeconds(idle), jitterRate);
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

    /// <summary>
    /// Silent death: the current PBX stops answering without closing (<see cref="PbxEmulator.SetHalfOpen"/>) and loses its
    /// registration to the standby; only the keepalive notices. Short keepalive settings so that 50 runs take seconds.
    /// </summary>
    private static async Task HalfOpenAsync(int runs)
    {
        var interval = TimeSpan.FromMilliseconds(100);
        var timeout = TimeSpan.FromMilliseconds(100);
        var connectTimeout = TimeSpan.FromMilliseconds(100);
        await using var emulator = new PbxEmulator();
        var sim = emulator.System;
        var master = await emulator.AddMasterAsync();
        var standby = await emulator.AddStandbyAsync(master);
        sim.AddUser("halfopen", Password, master);

        await using var floorTransport = new MyAppsWebSocketTransport(TransportOptions("halfopen"));
        var floor = new List<double>();
        for (var i = -3; i < runs; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await using var connection = await LogInAsync(floorTransport, master);
            Add(floor, i, start, Stopwatch.GetTimestamp());
        }

        await using var transport = new MyAppsWebSocketTransport(TransportOptions("halfopen") with
        {
            KeepAliveInterval = interval,
            KeepAliveTimeout = timeout,
            ConnectTimeout = connectTimeout,
        });
        await using var manager = new RedundancyManager(ManagerOptions("halfopen", master, transport));
        using (var up = WhenConnInfo(manager, i => i.Up && !i.Standby && i.Cur == master.Address))
        {
            await manager.StartAsync();
            await up.Task.WaitAsync(Guard);
        }

        var silent = new List<double>();
        for (var i = -3; i < runs; i++)
        {
            using (var onStandby = WhenConnInfo(manager, c => c.Up && c.Cur == standby.Address))
            {
                var start = Stopwatch.GetTimestamp();
                emulator.SetHalfOpen(master, true);
                sim.Partition(master, standby);
                Add(silent, i, start, await onStandby.Task.WaitAsync(Guard));
            }

            // Thawed and registered again: the standby sends StandbyBack and the manager goes home.
            using (var home = WhenConnInfo(manager, c => c.Up && !c.Standby && c.Cur == master.Address))
            {
                emulator.SetHalfOpen(master, false);
                sim.Heal(master, standby);
                await home.Task.WaitAsync(Guard);
            }
        }

        var f = Figures.Summarise(floor);
        var h = Figures.Summarise(silent);
        var target = (interval + timeout).TotalMilliseconds + (2 * f.P50);
        var bound = target + connectTimeout.TotalMilliseconds;
        Console.WriteLine($"# half-open: KeepAliveInterval {interval.TotalMilliseconds} ms, KeepAliveTimeout {timeout.TotalMilliseconds} ms, " +
                          $"ConnectTimeout {connectTimeout.TotalMilliseconds} ms, {runs} runs; target interval + timeout + 2 floor = {target:0.#} ms; " +
                          $"with the cur-first attempt's ConnectTimeout (R7) {bound:0.#} ms");
        Figures.Print("failover.halfopen.ours.p50", h.P50, "ms", h.P50 / target);
        Figures.Print("failover.halfopen.ours.p99", h.P99, "ms", h.P99 / target);
        Figures.Print("failover.halfopen.ours.max", h.Max, "ms", h.Max / bound);
    }

    /// <summary>
    /// <paramref name="n"/> managers, each its own user and transport, against the emulator served by a second process.
    /// <paramref name="jitterRate"/>: the login rate per second the reconnect jitter should spread a lost PBX's clients to
    /// (ReconnectJitter = N / rate); 0 turns the jitter off (the library default).
    /// </summary>
    private static async Task ScaleAsync(int n, TimeSpan idle, int jitterRate)
    {
        await using var emulator = await EmulatorProcess.StartAsync(n);
        var master = emulator.Master;
        var standby = emulator.Standby;
        var jitter = jitterRate > 0 ? TimeSpan.FromSeconds(n / (double)jitterRate) : TimeSpan.Zero;
        Console.WriteLine($"# scale {n}: emulator in process {emulator.ProcessId}; ReconnectJitter {jitter.TotalMilliseconds} ms " +
                          $"(bound: {n} logins / {jitter.TotalSeconds:0.##} s = {(jitter > TimeSpan.Zero ? n / jitter.TotalSeconds : double.PositiveInfinity):0} logins/s " +
                          "at the standby, twice that in attempts with the cur-first attempt to the dead master)");

#if !BEFORE_NETWORK_CHANGES
        using var network = new System.Reactive.Subjects.Subject<Innovaphone.Redundancy.NetworkChange>();
#endif
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var transports = new MyAppsWebSocketTransport[n];
        var managers = new RedundancyManager[n];
        var stamps = new AttemptStamps();
        for (var i = 0; i < n; i++)
        {
            transports[i] = new MyAppsWebSocketTransport(ScaleTransportOptions(User(i)));
            managers[i] = new RedundancyManager(ManagerOptions(User(i), master, stamps.Wrap(transports[i])) with
            {
                ReconnectJitter = jitter,
#if !BEFORE_NETWORK_CHANGES
                NetworkChanges = network,
#endif
            });
        }

        try
        {
            // Started in batches: a burst of thousands of connects would overflow the listen backlog (SYN retries
            // after 1 s), which measures the kernel, not the start.
            var start = Stopwatch.GetTimestamp();
            var connected = new List<double>();
            foreach (var batch in managers.Chunk(250))
            {
                connected.AddRange(await AllAsync(batch, start, c => c.Up && !c.Standby && c.Cur == master, () => Task.WhenAll(batch.Select(m => m.StartAsync()))));
            }

            Figures.Print($"scale{n}.start.all_up.max", Figures.Summarise(connected).Max, "ms");

            var after = GC.GetTotalMemory(forceFullCollection: true);
            Figures.Print($"scale{n}.memory_per_connected_manager", (after - before) / (double)n / 1024, "KiB", (after - before) / (double)n / 50_000);

            using (var process = Process.GetCurrentProcess())
            {
                // The first seconds after a burst of logins still see tiered JIT recompilation and GC work of the start:
                // reported separately, so that idle_cpu is the steady state.
                var settle = process.TotalProcessorTime;
                var settleWall = Stopwatch.GetTimestamp();
                await Task.Delay(s_settleTime);
                process.Refresh();
                Figures.Print($"scale{n}.settle_cpu", (process.TotalProcessorTime - settle).TotalMilliseconds / Stopwatch.GetElapsedTime(settleWall).TotalMilliseconds * 100, "%core");
                var cpu = process.TotalProcessorTime;
                var wall = Stopwatch.GetTimestamp();
                await Task.Delay(idle);
                process.Refresh();
                var used = (process.TotalProcessorTime - cpu).TotalMilliseconds / Stopwatch.GetElapsedTime(wall).TotalMilliseconds * 100;
                Figures.Print($"scale{n}.idle_cpu", used, "%core", used / 1.0);
            }

            // Two kill/revive cycles: the first runs the failover paths of both processes for the first time (JIT, first
            // use of the standby's listener) and is reported as "cold"; the second is the steady figure.
#if !BEFORE_NETWORK_CHANGES
            if (s_scaleCases.Contains("verify"))
            {
                // A network change while every path is alive: each connection is verified (one PING, one PONG) and stays.
                var lost = managers.Select(m => WhenConnInfo(m, c => !c.Up)).ToList();
                using var process = Process.GetCurrentProcess();
                var cpu = process.TotalProcessorTime;
                var wall = Stopwatch.GetTimestamp();
                network.OnNext(new Innovaphone.Redundancy.NetworkChange(IsAvailable: true));
                Figures.Print($"scale{n}.verify.notify_all", Stopwatch.GetElapsedTime(wall).TotalMilliseconds, "ms");
                await Task.Delay(TimeSpan.FromSeconds(5));
                process.Refresh();
                Figures.Print($"scale{n}.verify.cpu_5s", (process.TotalProcessorTime - cpu).TotalMilliseconds, "ms");
                Figures.Print($"scale{n}.verify.lost", lost.Count(l => l.Task.IsCompleted), "connections");
                lost.ForEach(l => l.Dispose());
            }
#endif

            for (var cycle = 0; cycle < (s_scaleCases.Contains("kill") ? 2 : 0); cycle++)
            {
                var name = cycle == 0 ? $"scale{n}.cold" : $"scale{n}";

                // Detection (connInfo up:false) is measured alongside, to tell the loss's arrival from the reconnect.
                var down = managers.Select(m => WhenConnInfo(m, c => !c.Up)).ToList();
                Console.WriteLine($"# cycle {cycle}: kill");
                start = Stopwatch.GetTimestamp();
                var cpuAtKill = (Client: ClientCpu(), Emulator: emulator.Cpu());
                var allDown = Task.WhenAll(down.Select(d => d.Task)).ContinueWith(
                    _ => (Wall: Stopwatch.GetElapsedTime(start), Client: ClientCpu(), Emulator: emulator.Cpu()), TaskScheduler.Default);
                var killTook = "";
                using var sampler = new PoolSampler();
                using var allocations = AllocationProfile.Wanted ? new AllocationProfile() : null;
                allocations?.Start();
                var kill = await AllAsync(managers, start, c => c.Up && c.Cur == standby, async () => killTook = await emulator.CommandAsync("kill"));
                Console.WriteLine($"# cycle {cycle}: kill answered after {Stopwatch.GetElapsedTime(start).TotalMilliseconds:0} ms, {killTook}");
                var killPeak = await emulator.CommandAsync("peak");
                var killSent = stamps.Take(start);
                var killWindow = sampler.Stop();
                allocations?.Print($"{name}.kill");
                var detected = Figures.Summarise(await Task.WhenAll(down.Select(async d => Stopwatch.GetElapsedTime(start, await d.Task).TotalMilliseconds)));
                down.ForEach(d => d.Dispose());

                start = Stopwatch.GetTimestamp();
                var back = await AllAsync(managers, start, c => c.Up && !c.Standby && c.Cur == master, () => emulator.CommandAsync("revive"));
                var backPeak = await emulator.CommandAsync("peak");
                var backSent = stamps.Take(start);

                var k = Figures.Summarise(kill);
                var b = Figures.Summarise(back);
                if (cycle == 0)
                {
                    Figures.Print($"{name}.kill.all_up.max", k.Max, "ms", k.Max / 10_000);
                    Figures.Print($"{name}.standbyback.all_up.max", b.Max, "ms", b.Max / 10_000);
                    continue;
                }

                Figures.Print($"{name}.kill.detected.p50", detected.P50, "ms");
                Figures.Print($"{name}.kill.detected.max", detected.Max, "ms");

                // Who was busy while the losses arrived: the client's CPU and the emulator's (which aborts the dead master's
                // sockets one by one, where a real PBX's kernel resets them at once), in % of one core over that window.
                var downAt = await allDown;
                Figures.Print($"{name}.kill.detecting.client_cpu", (downAt.Client - cpuAtKill.Client) / downAt.Wall * 100, "%core");
                Figures.Print($"{name}.kill.detecting.emulator_cpu", (downAt.Emulator - cpuAtKill.Emulator) / downAt.Wall * 100, "%core");
                Figures.Print($"{name}.kill.all_up.p50", k.P50, "ms");
                Figures.Print($"{name}.kill.all_up.p99", k.P99, "ms");
                Figures.Print($"{name}.kill.all_up.max", k.Max, "ms", k.Max / 10_000);
                PrintPeak($"{name}.kill", killPeak, n, jitter);
                PrintPeak($"{name}.kill.client", killSent.ToString(), n, jitter);
                killWindow.Print($"{name}.kill");
                Figures.Print($"{name}.standbyback.all_up.p50", b.P50, "ms");
                Figures.Print($"{name}.standbyback.all_up.p99", b.P99, "ms");
                Figures.Print($"{name}.standbyback.all_up.max", b.Max, "ms", b.Max / 10_000);
                PrintPeak($"{name}.standbyback", backPeak, n, jitter, attemptsPerClient: 1);
                PrintPeak($"{name}.standbyback.client", backSent.ToString(), n, jitter, attemptsPerClient: 1);
            }

            if (s_scaleCases.Contains("netchange"))
            // R14 at scale: the path to the master freezes (TCP open, nothing answered) and the network changes: one
            // notification reaches every manager (an injected source; bench/fieldcheck.sh's netchange case makes a real one).
            // Without the library's network changes (BEFORE_NETWORK_CHANGES) only the keepalive finds the frozen path.
            {
                var down = managers.Select(m => WhenConnInfo(m, c => !c.Up)).ToList();
                await emulator.CommandAsync("freeze");
                start = Stopwatch.GetTimestamp();
                var change = await AllAsync(managers, start, c => c.Up && c.Cur == standby, () =>
                {
#if !BEFORE_NETWORK_CHANGES
                    network.OnNext(new Innovaphone.Redundancy.NetworkChange(IsAvailable: true));
#endif
                    return Task.CompletedTask;
                });
                var changePeak = await emulator.CommandAsync("peak");
                var changeSent = stamps.Take(start);
                var detected = Figures.Summarise(await Task.WhenAll(down.Select(async d => Stopwatch.GetElapsedTime(start, await d.Task).TotalMilliseconds)));
                down.ForEach(d => d.Dispose());
                var c = Figures.Summarise(change);
                Figures.Print($"scale{n}.netchange.detected.p50", detected.P50, "ms");
                Figures.Print($"scale{n}.netchange.detected.max", detected.Max, "ms");
                Figures.Print($"scale{n}.netchange.all_up.p50", c.P50, "ms");
                Figures.Print($"scale{n}.netchange.all_up.max", c.Max, "ms", c.Max / (jitter.TotalMilliseconds + 3000), "target: jitter + 3 s");
                PrintPeak($"scale{n}.netchange", changePeak, n, jitter);
                PrintPeak($"scale{n}.netchange.client", changeSent.ToString(), n, jitter);
                await AllAsync(managers, Stopwatch.GetTimestamp(), c => c.Up && !c.Standby && c.Cur == master, () => emulator.CommandAsync("thaw"));
            }
        }
        finally
        {
            await Task.WhenAll(managers.Where(m => m is not null).Select(m => m.DisposeAsync().AsTask()));
            await Task.WhenAll(transports.Where(t => t is not null).Select(t => t.DisposeAsync().AsTask()));
        }
    }

    /// <summary>
    /// An answer to <c>peak</c> (the emulator's, or <see cref="AttemptStamps.Summary"/>'s for the attempts the client made):
    /// the most attempts in any 100 ms bucket (scaled to /s), the total, the first and last attempt and the start of the
    /// peak bucket in ms after the command. The ratio is to the jitter's bound: <paramref name="attemptsPerClient"/> attempts
    /// per client over the jitter (2 after a kill: the dead master first, R7; 1 after StandbyBack).
    /// </summary>
    private static void PrintPeak(string name, string answer, int n, TimeSpan jitter, int attemptsPerClient = 2)
    {
        var parts = answer.Split(' ');
        var peak = double.Parse(parts[1], CultureInfo.InvariantCulture);
        var total = int.Parse(parts[2], CultureInfo.InvariantCulture);
        double? ratio = jitter > TimeSpan.Zero ? peak / (attemptsPerClient * n / jitter.TotalSeconds) : null;
        Figures.Print($"{name}.peak_attempts", peak, "attempts/s", ratio);
        Figures.Print($"{name}.attempts", total, "attempts", total / (double)n);
        Figures.Print($"{name}.attempts_first", double.Parse(parts[3], CultureInfo.InvariantCulture), "ms");
        Figures.Print($"{name}.attempts_last", double.Parse(parts[4], CultureInfo.InvariantCulture), "ms");
        if (parts.Length > 5)
        {
            Figures.Print($"{name}.peak_at", double.Parse(parts[5], CultureInfo.InvariantCulture), "ms");
        }
    }

    private static TimeSpan ClientCpu()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    /// <summary>Subscribes every manager to <paramref name="condition"/>, runs <paramref name="act"/>, and returns each manager's time to it.</summary>
    private static async Task<List<double>> AllAsync(IReadOnlyList<RedundancyManager> managers, long start, Func<ConnInfo, bool> condition, Func<Task> act)
    {
        var waits = managers.Select(m => WhenConnInfo(m, condition)).ToList();
        try
        {
            await act();
            var ends = await Task.WhenAll(waits.Select(w => w.Task)).WaitAsync(ScaleGuard);
            return [.. ends.Select(e => Stopwatch.GetElapsedTime(start, e).TotalMilliseconds)];
        }
        finally
        {
            waits.ForEach(w => w.Dispose());
        }
    }

    private static void Add(List<double> samples, int run, long start, long end)
    {
        // Negative runs are warm-up (JIT, connection pools) and not recorded.
        if (run >= 0)
        {
            samples.Add(Stopwatch.GetElapsedTime(start, end).TotalMilliseconds);
        }
    }

    internal static async Task<IPbxConnection> LogInAsync(MyAppsWebSocketTransport transport, SimulatedPbx pbx)
    {
        var outcome = await transport.ConnectAsync(new PbxLoginRequest(pbx.Address, PbxScheme.Ws, 1), CancellationToken.None);
        return outcome is LoggedIn loggedIn
            ? loggedIn.Connection
            : throw new InvalidOperationException($"Login to {pbx} did not succeed: {outcome}");
    }

    internal static ConnInfoWait WhenConnInfo(RedundancyManager manager, Func<ConnInfo, bool> condition) => new(manager, condition);

    internal static MyAppsTransportOptions TransportOptions(string user) => new()
    {
        Username = user,
        Password = Password,
        AllowInsecure = true,
    };

    /// <summary>The scale runs' transport: library defaults unless <c>--keepalive-interval-ms</c>/<c>--keepalive-timeout-ms</c> say otherwise.</summary>
    private static MyAppsTransportOptions ScaleTransportOptions(string user) => TransportOptions(user) with
    {
        KeepAliveInterval = s_keepAliveInterval ?? new MyAppsTransportOptions().KeepAliveInterval,
        KeepAliveTimeout = s_keepAliveTimeout ?? new MyAppsTransportOptions().KeepAliveTimeout,
    };

    private static RedundancyOptions ManagerOptions(string user, SimulatedPbx primary, IPbxTransport transport) =>
        ManagerOptions(user, primary.Address, transport);

    private static RedundancyOptions ManagerOptions(string user, PbxAddress primary, IPbxTransport transport) => new()
    {
        Primary = primary,
        Transport = transport,
        User = user,
        Scheme = PbxScheme.Ws,
        MinStableConnection = TimeSpan.Zero,

        // IPR_BENCH_WARMUP=0 turns the failover warm-up off, to see what it costs back-to-back failovers.
        WarmUp = Environment.GetEnvironmentVariable("IPR_BENCH_WARMUP") != "0",
    };

    private static List<int> OptionList(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length
            ? [.. args[index + 1].Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).Where(v => v > 0)]
            : [];
    }

    internal static string User(int i) => string.Create(CultureInfo.InvariantCulture, $"user{i}");

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>Completes with the <see cref="Stopwatch"/> timestamp of the first connInfo that meets the condition.</summary>
    internal sealed class ConnInfoWait : IDisposable
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
