using System.Diagnostics;
using System.Globalization;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Transport.WebSockets;

namespace Innovaphone.Redundancy.Failover;

/// <summary>
/// The "Field failover" cases: what a client with the LIBRARY DEFAULTS (RedundancyOptions and MyAppsTransportOptions as
/// they come; only the user, the password, <c>ws://</c> and <c>AllowInsecure</c> are set) does against PBXes that behave
/// as field reports describe them: a PBX killed right after a login, StandbyBack right after a standby login, PBXes that
/// keep TCP open after their close frame (<see cref="PbxEmulator.SetLinger"/>), a frozen or black-holed current PBX,
/// a slow connInfo subscriber. Each figure is printed with its ratio to the floor of the same run and with the issue's
/// target. Every wait is bounded by <see cref="Guard"/>; a run that hits it counts as that long and is reported.
/// </summary>
internal static class FieldFailover
{
    /// <summary>Per case and run: no run may hang the harness.</summary>
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    /// <summary>The issue's stagger delay (R7: a PBX that does not answer within it does not block the next candidate).</summary>
    private static readonly TimeSpan StaggerDelay = TimeSpan.FromMilliseconds(250);

    /// <summary>The issue's end-to-end bound for a silent death with the defaults.</summary>
    private static readonly TimeSpan SilentDeathBound = TimeSpan.FromSeconds(17);

    /// <summary>How long the lingering PBXes of the redirect chain keep TCP open after their close frame.</summary>
    private static readonly TimeSpan ChainLinger = TimeSpan.FromSeconds(2);

    /// <summary>How long the slow connInfo subscriber takes per value.</summary>
    private static readonly TimeSpan SlowSubscriber = TimeSpan.FromSeconds(2);

    public static async Task RunAsync(int runs, int slowRuns)
    {
        var started = Stopwatch.GetTimestamp();
        var defaults = new MyAppsTransportOptions();
        // Read only for the printout: the required members are never used.
        var managerDefaults = new RedundancyOptions { Primary = null!, Transport = null! };
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"# field failover: library defaults (KeepAliveInterval {defaults.KeepAliveInterval.TotalSeconds} s, KeepAliveTimeout {defaults.KeepAliveTimeout.TotalSeconds} s, " +
            $"ConnectTimeout {defaults.ConnectTimeout.TotalSeconds} s, CloseTimeout {defaults.CloseTimeout.TotalSeconds} s, AttemptTimeout {managerDefaults.AttemptTimeout.TotalSeconds} s, " +
            $"MinStableConnection {managerDefaults.MinStableConnection.TotalSeconds} s, BackoffInitial {managerDefaults.BackoffInitial.TotalSeconds} s); " +
            $"{runs} runs per fast case, {slowRuns} per slow case; per-run guard {Guard.TotalSeconds} s"));

        var floor = await FloorAsync(runs: 50);
        Figures.Print("field.floor.p50", floor.P50, "ms", 1);
        Figures.Print("field.floor.p99", floor.P99, "ms", 1);
        var fastTarget = (2 * floor.P50) + 5;

        // The fast cases first and one at a time: they are milliseconds (ideally), which other work would distort.
        var (kill, back) = await KillAndStandbyBackAsync(runs);
        Report("field.kill_after_login", kill, floor, fastTarget);
        Report("field.standbyback_after_standby_login", back, floor, fastTarget);

        var (chain, chainKill) = await RedirectChainAsync(runs);
        Report("field.chain_linger2s.start_to_up_s2", chain, floor, fastTarget);
        Report("field.chain_linger2s.kill_s2_to_up_m", chainKill, floor, fastTarget);

        // Frozen and black-holed: seconds of timers (keepalive, ConnectTimeout), each run on its own emulator, all
        // concurrently: the few milliseconds of CPU they need do not move figures of that size.
        var silent = await Task.WhenAll(Enumerable.Range(0, slowRuns)
            .SelectMany(i => new[] { SilentDeathAsync(i, slowRuns, blackHole: false), SilentDeathAsync(i, slowRuns, blackHole: true) }));
        ReportSilent("field.frozen", [.. silent.Where(s => !s.BlackHole)], floor);
        ReportSilent("field.blackhole", [.. silent.Where(s => s.BlackHole)], floor);

        // Alone again: the slow subscriber blocks a pool thread for seconds, which would delay the cases above.
        var plain = await SlowSubscriberAsync(slowRuns, slow: false);
        var slowed = await SlowSubscriberAsync(slowRuns, slow: true);
        Report("field.kill_stable.no_slow_subscriber", plain.Up, floor, fastTarget);
        Report("field.kill_stable.slow_subscriber", slowed.Up, floor, fastTarget);
        Print("field.kill_stable.slow_subscriber.pbx_login_standby", slowed.PbxLogin, floor, null);
        Print("field.kill_stable.no_slow_subscriber.pbx_login_standby", plain.PbxLogin, floor, null);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# field failover took {Stopwatch.GetElapsedTime(started).TotalSeconds:0} s"));
    }

    /// <summary>The floor of this run: a warm transport's connect + session login to a live PBX, as in the latency figures.</summary>
    private static async Task<(double P50, double P99, double Max)> FloorAsync(int runs)
    {
        await using var emulator = new PbxEmulator();
        var master = await emulator.AddMasterAsync();
        emulator.System.AddUser("floor", Program.Password, master);
        await using var transport = new MyAppsWebSocketTransport(Program.TransportOptions("floor"));
        var floor = new List<double>();
        for (var i = -3; i < runs; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await using var connection = await Program.LogInAsync(transport, master);
            if (i >= 0)
            {
                floor.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }

        return Figures.Summarise(floor);
    }

    /// <summary>
    /// Master + explicit standby. Each run a new manager logs in at the master; the master is killed as soon as connInfo
    /// says up there (kill -> up on the standby), and revived as soon as connInfo says up on the standby (StandbyBack ->
    /// up at home). Both are "right after a login", which is where the defaults' flapping guard (MinStableConnection)
    /// strikes.
    /// </summary>
    private static async Task<(Samples Kill, Samples Back)> KillAndStandbyBackAsync(int runs)
    {
        await using var emulator = new PbxEmulator();
        var sim = emulator.System;
        var master = await emulator.AddMasterAsync();
        var standby = await emulator.AddStandbyAsync(master);
        sim.AddUser("field", Program.Password, master);
        var kill = new Samples();
        var back = new Samples();
        for (var i = -1; i < runs; i++)
        {
            await using var transport = new MyAppsWebSocketTransport(Program.TransportOptions("field"));
            await using var manager = new RedundancyManager(DefaultManagerOptions("field", master.Address, transport));
            if (!await UpAsync(manager, c => c.Up && !c.Standby && c.Cur == master.Address, () => manager.StartAsync()))
            {
                Console.WriteLine("# field: kill_after_login: no first login within the guard; case skipped");
                break;
            }

            var k = await MeasureAsync(manager, c => c.Up && c.Cur == standby.Address, () => sim.Kill(master));
            var b = await MeasureAsync(manager, c => c.Up && !c.Standby && c.Cur == master.Address, () => sim.Revive(master));
            if (i >= 0)
            {
                kill.Add(k);
                back.Add(b);
            }
        }

        return (kill, back);
    }

    /// <summary>
    /// Master M, slaves S1 and S2, the user on S2, configured PBX S1, every PBX lingering 2 s after its close frame:
    /// Start -> up at S2 (S1 redirects to M, M to S2: two closes after a Redirect), then S2 killed right after that
    /// login -> up at M (as standby).
    /// </summary>
    private static async Task<(Samples Chain, Samples Kill)> RedirectChainAsync(int runs)
    {
        await using var emulator = new PbxEmulator();
        var sim = emulator.System;
        var m = await emulator.AddMasterAsync();
        var s1 = await emulator.AddSlaveAsync(m);
        var s2 = await emulator.AddSlaveAsync(m);
        sim.AddUser("chain", Program.Password, s2);
        foreach (var pbx in new[] { m, s1, s2 })
        {
            emulator.SetLinger(pbx, ChainLinger);
        }

        var chain = new Samples();
        var kill = new Samples();
        for (var i = -1; i < runs; i++)
        {
            await using (var transport = new MyAppsWebSocketTransport(Program.TransportOptions("chain")))
            {
                await using var manager = new RedundancyManager(DefaultManagerOptions("chain", s1.Address, transport));
                var c = await MeasureAsync(manager, c => c.Up && c.Cur == s2.Address, () => manager.StartAsync());
                var k = c.TimedOut ? Sample.Timeout : await MeasureAsync(manager, c => c.Up && c.Cur == m.Address, () => sim.Kill(s2));
                if (i >= 0)
                {
                    chain.Add(c);
                    kill.Add(k);
                }
            }

            sim.Revive(s2);
        }

        return (chain, kill);
    }

    /// <summary>
    /// Master + explicit standby, a manager up at the master; after a phase of the keepalive interval (run
    /// <paramref name="run"/> of <paramref name="runs"/>: (run + 0.5) / runs of it, so that the runs cover the phases
    /// evenly), the master freezes (TCP open, nothing answered) or is black-holed (live sockets silent, new connects
    /// unanswered) and loses its registration to the standby, so that the standby takes the user.
    /// </summary>
    private static async Task<SilentResult> SilentDeathAsync(int run, int runs, bool blackHole)
    {
        await using var emulator = new PbxEmulator();
        var sim = emulator.System;
        var master = await emulator.AddMasterAsync();
        var standby = await emulator.AddStandbyAsync(master);
        sim.AddUser("silent", Program.Password, master);
        await using var transport = new MyAppsWebSocketTransport(Program.TransportOptions("silent"));
        await using var manager = new RedundancyManager(DefaultManagerOptions("silent", master.Address, transport));
        if (!await UpAsync(manager, c => c.Up && !c.Standby && c.Cur == master.Address, () => manager.StartAsync()))
        {
            return new SilentResult(blackHole, Sample.Timeout, Sample.Timeout);
        }

        var phase = new MyAppsTransportOptions().KeepAliveInterval * ((run + 0.5) / runs);
        await Task.Delay(phase);
        using var down = Program.WhenConnInfo(manager, c => !c.Up);
        using var up = Program.WhenConnInfo(manager, c => c.Up && c.Cur == standby.Address);
        var start = Stopwatch.GetTimestamp();
        if (blackHole)
        {
            emulator.SetBlackHole(master, true);
        }
        else
        {
            emulator.SetHalfOpen(master, true);
        }

        sim.Partition(master, standby);
        var total = await EndAsync(up.Task, start, Guard);
        var detected = await EndAsync(down.Task, start, TimeSpan.Zero);
        return new SilentResult(blackHole, detected, total);
    }

    /// <summary>
    /// Master + explicit standby, one manager: after a stable login (longer than MinStableConnection), kill -> up on the
    /// standby, then revive -> home; with <paramref name="slow"/>, a connInfo subscriber that takes 2 s per value was
    /// subscribed first (a host's handler blocking its thread). Measured at a second subscriber, and on the PBX side: the
    /// standby's login decision (does the subscriber delay the machine, or only the publication?).
    /// </summary>
    private static async Task<(Samples Up, Samples PbxLogin)> SlowSubscriberAsync(int runs, bool slow)
    {
        await using var emulator = new PbxEmulator();
        var sim = emulator.System;
        var master = await emulator.AddMasterAsync();
        var standby = await emulator.AddStandbyAsync(master);
        sim.AddUser("slow", Program.Password, master);
        await using var transport = new MyAppsWebSocketTransport(Program.TransportOptions("slow"));
        await using var manager = new RedundancyManager(DefaultManagerOptions("slow", master.Address, transport));
        using var blocking = slow ? manager.ConnInfoChanges.Subscribe(_ => Thread.Sleep(SlowSubscriber)) : null;
        var ups = new Samples();
        var logins = new Samples();
        if (!await UpAsync(manager, c => c.Up && !c.Standby && c.Cur == master.Address, () => manager.StartAsync()))
        {
            return (ups, logins);
        }

        var stable = DefaultManagerOptions("slow", master.Address, transport).MinStableConnection + TimeSpan.FromMilliseconds(500);
        for (var i = 0; i < runs; i++)
        {
            await Task.Delay(stable);
            var killedAt = DateTimeOffset.UtcNow;
            var sample = await MeasureAsync(manager, c => c.Up && c.Cur == standby.Address, () => sim.Kill(master));
            ups.Add(sample);
            var login = sim.Attempts.FirstOrDefault(a => a.Pbx == standby.Address && a.Time >= killedAt && a.Outcome == SimulatedAttemptOutcome.LoggedInStandby);
            logins.Add(login is null ? Sample.Timeout : new Sample((login.Time - killedAt).TotalMilliseconds, false));
            if (!await UpAsync(manager, c => c.Up && !c.Standby && c.Cur == master.Address, () =>
                {
                    sim.Revive(master);
                    return Task.CompletedTask;
                }))
            {
                break;
            }
        }

        return (ups, logins);
    }

    /// <summary>The library's defaults; only what a <c>ws://</c> installation must set.</summary>
    private static RedundancyOptions DefaultManagerOptions(string user, PbxAddress primary, IPbxTransport transport) => new()
    {
        Primary = primary,
        Transport = transport,
        User = user,
        Scheme = PbxScheme.Ws,
    };

    private static async Task<bool> UpAsync(RedundancyManager manager, Func<ConnInfo, bool> condition, Func<Task> act)
    {
        using var wait = Program.WhenConnInfo(manager, condition);
        await act();
        return !(await EndAsync(wait.Task, Stopwatch.GetTimestamp(), Guard)).TimedOut;
    }

    private static Task<Sample> MeasureAsync(RedundancyManager manager, Func<ConnInfo, bool> condition, Action act) =>
        MeasureAsync(manager, condition, () =>
        {
            act();
            return Task.CompletedTask;
        });

    private static async Task<Sample> MeasureAsync(RedundancyManager manager, Func<ConnInfo, bool> condition, Func<Task> act)
    {
        using var wait = Program.WhenConnInfo(manager, condition);
        var start = Stopwatch.GetTimestamp();
        await act();
        return await EndAsync(wait.Task, start, Guard);
    }

    private static async Task<Sample> EndAsync(Task<long> end, long start, TimeSpan guard)
    {
        try
        {
            return new Sample(Stopwatch.GetElapsedTime(start, await end.WaitAsync(guard)).TotalMilliseconds, false);
        }
        catch (TimeoutException)
        {
            return Sample.Timeout;
        }
    }

    private static void Report(string name, Samples samples, (double P50, double P99, double Max) floor, double target)
    {
        var s = Figures.Summarise(samples.Values);
        Figures.Print($"{name}.p50", s.P50, "ms", s.P50 / floor.P50, Target(s.P50, target, "2 floor + 5 ms"));
        Figures.Print($"{name}.p99", s.P99, "ms", s.P99 / floor.P99);
        PrintTimeouts(name, samples);
    }

    private static void Print(string name, Samples samples, (double P50, double P99, double Max) floor, double? target)
    {
        var s = Figures.Summarise(samples.Values);
        Figures.Print($"{name}.p50", s.P50, "ms", s.P50 / floor.P50, target is { } t ? Target(s.P50, t, "") : null);
        Figures.Print($"{name}.p99", s.P99, "ms", s.P99 / floor.P99);
    }

    private static void ReportSilent(string name, SilentResult[] results, (double P50, double P99, double Max) floor)
    {
        var reconnectTarget = StaggerDelay.TotalMilliseconds + (2 * floor.P50);
        var detected = new Samples();
        var reconnect = new Samples();
        var total = new Samples();
        foreach (var r in results)
        {
            detected.Add(r.Detected);
            total.Add(r.Total);
            reconnect.Add(r.Total.TimedOut || r.Detected.TimedOut ? Sample.Timeout : new Sample(r.Total.Ms - r.Detected.Ms, false));
        }

        var d = Figures.Summarise(detected.Values);
        var c = Figures.Summarise(reconnect.Values);
        var t = Figures.Summarise(total.Values);
        Figures.Print($"{name}.detected.p50", d.P50, "ms");
        Figures.Print($"{name}.detected.max", d.Max, "ms");
        Figures.Print($"{name}.reconnect_after_detection.p50", c.P50, "ms", c.P50 / floor.P50, Target(c.P50, reconnectTarget, "stagger 250 ms + 2 floor"));
        Figures.Print($"{name}.reconnect_after_detection.max", c.Max, "ms", c.Max / floor.P50, Target(c.Max, reconnectTarget, "stagger 250 ms + 2 floor"));
        Figures.Print($"{name}.total.p50", t.P50, "ms", t.P50 / SilentDeathBound.TotalMilliseconds, Target(t.P50, SilentDeathBound.TotalMilliseconds, "17 s end to end"));
        Figures.Print($"{name}.total.max", t.Max, "ms", t.Max / SilentDeathBound.TotalMilliseconds, Target(t.Max, SilentDeathBound.TotalMilliseconds, "17 s end to end"));
        PrintTimeouts(name, total);
    }

    private static void PrintTimeouts(string name, Samples samples)
    {
        if (samples.Timeouts > 0)
        {
            Figures.Print($"{name}.timeouts", samples.Timeouts, "runs", samples.Timeouts / (double)samples.Values.Count, $"(hit the {Guard.TotalSeconds:0} s guard; counted as {Guard.TotalSeconds:0} s)");
        }
    }

    private static string Target(double value, double target, string what) => string.Create(
        CultureInfo.InvariantCulture,
        $"target <= {target:0.#} ms{(what.Length > 0 ? $" ({what})" : "")}: {(value <= target ? "met" : "MISSED")}");

    /// <summary>One measured time; a run that hit the guard counts as the guard.</summary>
    private readonly record struct Sample(double Ms, bool TimedOut)
    {
        public static Sample Timeout => new(Guard.TotalMilliseconds, true);
    }

    private sealed class Samples
    {
        public List<double> Values { get; } = [];

        public int Timeouts { get; private set; }

        public void Add(Sample sample)
        {
            Values.Add(sample.Ms);
            if (sample.TimedOut)
            {
                Timeouts++;
            }
        }
    }

    private sealed record SilentResult(bool BlackHole, Sample Detected, Sample Total);
}
