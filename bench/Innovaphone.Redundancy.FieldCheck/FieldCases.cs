using System.Diagnostics;
using System.Globalization;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;

namespace Innovaphone.Redundancy.FieldCheck;

/// <summary>
/// The cases of the field report, each run against a fresh emulator with the real Monitor CLI as a child process.
/// Every case prints its figures as soon as they are measured, so that a slow case does not hide the fast ones.
/// </summary>
internal sealed class FieldCases(Settings settings, string runtime, TextWriter output)
{
    /// <summary>Longer than the library's MinStableConnection (2 s): a kill after this is a loss of a stable connection.</summary>
    private static readonly TimeSpan Stable = TimeSpan.FromSeconds(3);

    /// <summary>Case 3: the field report's "PBX died right after we logged in".</summary>
    private static readonly TimeSpan SoonAfterLogin = TimeSpan.FromMilliseconds(100);

    /// <summary>Case 2 revives the user's PBX this long after the client is up as standby.</summary>
    private static readonly TimeSpan StandbyPause = TimeSpan.FromSeconds(1);

    /// <summary>How long every PBX of the lingering variant of case 1 keeps TCP open after its close frame.</summary>
    private static readonly TimeSpan Linger = TimeSpan.FromSeconds(2);

    /// <summary>R7's stagger: a PBX that does not answer within it must not block the next candidate.</summary>
    private const double StaggerMs = 250;

    private readonly Figure _startFloor = new("floor.start-to-up", "ms");

    /// <summary>
    /// From the Monitor's first connInfo line (published when it subscribes, before it connects) to up: the start floor
    /// without process start and runtime start-up, which on a busy box vary by a second and would hide what the redirects cost.
    /// </summary>
    private readonly Figure _readyFloor = new("floor.ready-to-up", "ms");
    private readonly Figure _reconnectFloor = new("floor.kill-to-standby", "ms");
    private int _runNumber;

    public string? LoadedRuntime { get; private set; }

    /// <summary>Start of the Monitor to its first up:true at a single PBX (process start included).</summary>
    public async Task FloorsAsync()
    {
        for (var i = 0; i < settings.Runs; i++)
        {
            await RunAsync("floor-start", settings.Timeout, [_startFloor, _readyFloor], async run =>
            {
                var p = await run.Emulator.AddMasterAsync();
                run.Sim.AddUser(CaseRun.User, CaseRun.Password, p);
                var monitor = run.StartMonitor(p);
                if (await run.WaitAsync(CaseRun.UpAt(p)) is { } up)
                {
                    run.Record(_startFloor, monitor.StartedAt, up);
                    run.Record(_readyFloor, monitor.Since(0)[0].Timestamp, up);
                    LoadedRuntime ??= monitor.LoadedRuntime();
                }
            });
        }

        Print(_startFloor);
        Print(_readyFloor);

        // The reconnect floor: the best a failover can be through this pipeline (process, pipe, JSON, emulator), a stable
        // connection lost to a kill with an instant standby beside it.
        for (var i = 0; i < settings.Runs; i++)
        {
            await RunAsync("floor-reconnect", settings.Timeout, [_reconnectFloor], run => KillAndStandbyAsync(run, Stable, _reconnectFloor));
        }

        Print(_reconnectFloor);
    }

    /// <summary>Cases 1 and 2: the 2-hop redirect chain S1 -> M -> S2, kill of S2, StandbyBack when it returns.</summary>
    public async Task ChainAsync(bool linger)
    {
        var prefix = linger ? "chain-linger2s." : "chain.";
        var start = new Figure(prefix + "start-to-up-S2", "ms") { Limit = FastLimit(_startFloor) };
        var ready = new Figure(prefix + "ready-to-up-S2", "ms") { Limit = FastLimit(_readyFloor) };
        var kill = new Figure(prefix + "kill-S2-to-standby-M", "ms") { Limit = FastLimit(_reconnectFloor) };
        var back = new Figure(prefix + "revive-S2-to-up-S2", "ms") { Limit = FastLimit(_reconnectFloor) };
        Figure[] figures = [start, ready, kill, back];
        for (var i = 0; i < settings.Runs; i++)
        {
            await RunAsync(prefix.TrimEnd('.'), settings.Timeout, figures, async run =>
            {
                var m = await run.Emulator.AddMasterAsync();
                var s1 = await run.Emulator.AddSlaveAsync(m);
                var s2 = await run.Emulator.AddSlaveAsync(m);
                run.Sim.AddUser(CaseRun.User, CaseRun.Password, s2);
                if (linger)
                {
                    // As real servers do: TCP stays open after the close handshake (each Redirect and the StandbyBack
                    // end in one), so a client that waits for the socket to close pays the linger at every hop.
                    foreach (var pbx in (SimulatedPbx[])[m, s1, s2])
                    {
                        run.Emulator.SetLinger(pbx, Linger);
                    }
                }

                var monitor = run.StartMonitor(s1);
                if (await run.WaitAsync(CaseRun.UpAt(s2)) is not { } up)
                {
                    return;
                }

                run.Record(start, monitor.StartedAt, up);
                run.Record(ready, monitor.Since(0)[0].Timestamp, up);

                // Right after login, as soon as up at S2 is seen.
                var killedAt = Stopwatch.GetTimestamp();
                run.Sim.Kill(s2);
                if (await run.WaitAsync(CaseRun.StandbyAt(m), up.Index + 1) is not { } standby)
                {
                    return;
                }

                run.Record(kill, killedAt, standby);
                await Task.Delay(StandbyPause);
                var revivedAt = Stopwatch.GetTimestamp();
                run.Sim.Revive(s2);
                if (await run.WaitAsync(CaseRun.UpAt(s2), standby.Index + 1) is { } upAgain)
                {
                    run.Record(back, revivedAt, upAgain);
                }
            });
        }

        PrintAll(figures);
    }

    /// <summary>Case 3: a PBX with an explicit standby, killed 100 ms after login.</summary>
    public async Task StandbySoonAsync()
    {
        var figure = new Figure("standby.kill-100ms-after-up-to-standby-B", "ms") { Limit = FastLimit(_reconnectFloor) };
        for (var i = 0; i < settings.Runs; i++)
        {
            await RunAsync("standby", settings.Timeout, [figure], run => KillAndStandbyAsync(run, SoonAfterLogin, figure));
        }

        Print(figure);
    }

    /// <summary>
    /// Case 8 (issue 19 point 2): the first failover of a process against the second. A fresh Monitor at P (explicit standby
    /// B) over ws:// or wss://, P killed 3 s after up (cold: the first failover this process runs), P revived 1 s after
    /// standby at B (StandbyBack takes the Monitor back to P), then the same kill 3 s after up at P again (warm: the same
    /// path a second time in the same process). The ratio is taken per run (cold over warm of the same Monitor), so that
    /// a busy machine's drift between runs cancels; target: p50 of the ratio &lt;= 2.
    /// </summary>
    public async Task ColdWarmAsync(bool tls)
    {
        var prefix = tls ? "coldwarm-wss." : "coldwarm-ws.";
        var cold = new Figure(prefix + "cold-kill-to-standby-B", "ms");
        var warm = new Figure(prefix + "warm-kill-to-standby-B", "ms");
        var ratio = new Figure(prefix + "cold-over-warm", "x") { Limit = 2 };
        var options = new PbxEmulatorOptions { UseTls = tls };
        for (var i = 0; i < settings.Runs; i++)
        {
            await RunAsync(prefix.TrimEnd('.'), settings.Timeout + (2 * Stable), [cold, warm, ratio], async run =>
            {
                if (await UpAtMasterWithStandbyAsync(run) is not var (p, b, up))
                {
                    return;
                }

                await Task.Delay(Stable);
                var killedAt = Stopwatch.GetTimestamp();
                run.Sim.Kill(p);
                if (await run.WaitAsync(CaseRun.StandbyAt(b), up.Index + 1) is not { } first)
                {
                    return;
                }

                var coldMs = run.Record(cold, killedAt, first);
                await Task.Delay(StandbyPause);
                run.Sim.Revive(p);
                if (await run.WaitAsync(CaseRun.UpAt(p), first.Index + 1) is not { } back)
                {
                    return;
                }

                await Task.Delay(Stable);
                killedAt = Stopwatch.GetTimestamp();
                run.Sim.Kill(p);
                if (await run.WaitAsync(CaseRun.StandbyAt(b), back.Index + 1) is { } second)
                {
                    var warmMs = run.Record(warm, killedAt, second);
                    run.RecordCount(ratio, coldMs / warmMs);
                }
            }, options);
        }

        PrintAll([cold, warm, ratio]);
    }

    /// <summary>Cases 4 and 5: the current PBX goes silent (frozen: TCP open, nothing answered; or black-holed).</summary>
    public async Task SilentAsync(bool blackHole)
    {
        var prefix = blackHole ? "blackhole." : "frozen.";
        var detect = new Figure(prefix + "cut-to-down", "s") { Limit = 15_000 };
        var after = new Figure(prefix + "down-to-up-B", "ms") { Limit = _reconnectFloor.P50 is { } f ? StaggerMs + (2 * f) : null };
        var total = new Figure(prefix + "cut-to-up-B", "s") { Limit = 17_000 };
        Figure[] figures = [detect, after, total];
        for (var i = 0; i < settings.SlowRuns; i++)
        {
            await RunAsync(prefix.TrimEnd('.'), settings.SlowTimeout, figures, async run =>
            {
                if (await UpAtMasterWithStandbyAsync(run) is not var (p, b, up))
                {
                    return;
                }

                await Task.Delay(Stable);
                var cutAt = Stopwatch.GetTimestamp();

                // The standby loses its registration to P as the client does (else it would send the client back to P).
                run.Sim.Partition(p, b);
                if (blackHole)
                {
                    // Live sockets go silent and new connects to P never complete (no SYN-ACK): a PBX that lost power.
                    run.Emulator.SetBlackHole(p, true);
                }
                else
                {
                    // TCP stays open, nothing is read or answered, upgrades of new connections are never answered.
                    run.Emulator.SetHalfOpen(p, true);
                }

                // Detection: the first line that is no longer "up at P" (up:false, or straight to another PBX).
                if (await run.WaitAsync(i => !i.Up || !p.Address.Equals(i.Cur), up.Index + 1) is not { } down)
                {
                    return;
                }

                run.Record(detect, cutAt, down);
                var onB = down.Info.Up ? down : await run.WaitAsync(i => i.Up && b.Address.Equals(i.Cur), down.Index + 1);
                if (onB is not null)
                {
                    run.Record(total, cutAt, onB);
                    run.Record(after, down.Timestamp, onB);
                }
            });
        }

        PrintAll(figures);
    }

    /// <summary>
    /// Case 7 (R14): the laptop changes network while the path to P is frozen (the old path is dead without a sound). The
    /// change is real: an address added to lo, which only works, and is only done, in the private network namespace
    /// bench/fieldcheck.sh runs this runner in (the platform's events reach the Monitor, its child, in the same namespace).
    /// </summary>
    public async Task NetworkChangeAsync()
    {
        var figure = new Figure("netchange.change-to-up-B", "s") { Limit = 3_000 };
        if (!InPrivateNetworkNamespace())
        {
            output.WriteLine("# netchange: not run: the runner is not in a private network namespace (bench/fieldcheck.sh runs it under unshare -n with IPR_FIELDCHECK_NETNS=1, as root)");
            return;
        }

        for (var i = 0; i < settings.SlowRuns; i++)
        {
            await RunAsync("netchange", settings.SlowTimeout, [figure], async run =>
            {
                if (await UpAtMasterWithStandbyAsync(run) is not var (p, b, up))
                {
                    return;
                }

                await Task.Delay(Stable);
                run.Sim.Partition(p, b);
                run.Emulator.SetHalfOpen(p, true);
                var address = string.Create(CultureInfo.InvariantCulture, $"127.0.0.{100 + (_runNumber % 100)}/8");
                var changedAt = Stopwatch.GetTimestamp();
                await IpAsync("addr", "add", address, "dev", "lo");
                try
                {
                    if (await run.WaitAsync(c => c.Up && b.Address.Equals(c.Cur), up.Index + 1) is { } onB)
                    {
                        run.Record(figure, changedAt, onB);
                    }
                }
                finally
                {
                    await IpAsync("addr", "del", address, "dev", "lo");
                }
            });
        }

        Print(figure);
    }

    /// <summary>
    /// Whether this runner was started in a network namespace of its own: bench/fieldcheck.sh says so (it starts the runner
    /// under unshare -n with IPR_FIELDCHECK_NETNS=1), and the namespace has no interface but lo, as a new one has.
    /// </summary>
    private static bool InPrivateNetworkNamespace()
    {
        if (Environment.GetEnvironmentVariable("IPR_FIELDCHECK_NETNS") != "1")
        {
            return false;
        }

        try
        {
            using var ip = Process.Start(new ProcessStartInfo("ip", ["-o", "link", "show"]) { RedirectStandardOutput = true, UseShellExecute = false });
            var links = ip!.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            ip.WaitForExit();
            return ip.ExitCode == 0 && links.Length == 1 && links[0].Contains(" lo:", StringComparison.Ordinal);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static async Task IpAsync(params string[] arguments)
    {
        using var ip = Process.Start(new ProcessStartInfo("ip", arguments) { UseShellExecute = false, RedirectStandardError = true })
            ?? throw new InvalidOperationException("ip could not be started");
        var error = await ip.StandardError.ReadToEndAsync();
        await ip.WaitForExitAsync();
        if (ip.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', arguments)} failed ({ip.ExitCode}): {error.Trim()}");
        }
    }

    /// <summary>Case 6: up at a PBX that sends nothing for the idle time; every connInfo line after the first up is a change.</summary>
    public async Task IdleAsync()
    {
        var figure = new Figure($"idle.changes-in-{settings.IdleSeconds}s", "changes") { Limit = 0 };
        var idle = TimeSpan.FromSeconds(settings.IdleSeconds);
        for (var i = 0; i < settings.SlowRuns; i++)
        {
            await RunAsync("idle", idle + settings.Timeout, [figure], async run =>
            {
                var p = await run.Emulator.AddMasterAsync();
                run.Sim.AddUser(CaseRun.User, CaseRun.Password, p);
                var monitor = run.StartMonitor(p);
                if (await run.WaitAsync(CaseRun.UpAt(p)) is not { } up)
                {
                    return;
                }

                await Task.Delay(idle);
                var changes = monitor.Since(up.Index + 1);
                run.RecordCount(figure, changes.Count);
                foreach (var change in changes)
                {
                    var at = Stopwatch.GetElapsedTime(up.Timestamp, change.Timestamp).TotalSeconds;
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"#   idle: +{at:0.00} s {change.Info.ToJson()}"));
                }
            });
        }

        Print(figure);
    }

    /// <summary>PBX P (the user's, the Monitor's) with an explicit standby B, the Monitor started at P; null if it never came up there.</summary>
    private static async Task<(SimulatedPbx P, SimulatedPbx B, Observation Up)?> UpAtMasterWithStandbyAsync(CaseRun run)
    {
        var p = await run.Emulator.AddMasterAsync();
        var b = await run.Emulator.AddStandbyAsync(p);
        run.Sim.AddUser(CaseRun.User, CaseRun.Password, p);
        run.StartMonitor(p);
        return await run.WaitAsync(CaseRun.UpAt(p)) is { } up ? (p, b, up) : null;
    }

    /// <summary>PBX P (the user's, the Monitor's) with an explicit standby B: kill P <paramref name="after"/> the first up, time to up as standby at B.</summary>
    private static async Task KillAndStandbyAsync(CaseRun run, TimeSpan after, Figure figure)
    {
        if (await UpAtMasterWithStandbyAsync(run) is not var (p, b, up))
        {
            return;
        }

        await Task.Delay(after);
        var killedAt = Stopwatch.GetTimestamp();
        run.Sim.Kill(p);
        if (await run.WaitAsync(CaseRun.StandbyAt(b), up.Index + 1) is { } standby)
        {
            run.Record(figure, killedAt, standby);
        }
    }

    /// <summary>The fast-case target: p50 within twice the floor's p50 plus 5 ms; none while the floor is unknown.</summary>
    private static double? FastLimit(Figure floor) => floor.P50 is { } f ? (2 * f) + 5 : null;

    /// <summary>
    /// One run: a fresh emulator, the body under a hard timeout, then, whatever happened, the Monitor's process tree killed
    /// and the emulator disposed. Figures the body did not record count as timeouts.
    /// </summary>
    private async Task RunAsync(string name, TimeSpan timeout, IReadOnlyList<Figure> figures, Func<CaseRun, Task> body, PbxEmulatorOptions? options = null)
    {
        var number = Interlocked.Increment(ref _runNumber);
        var logPrefix = Path.Combine(settings.Artifacts, runtime, string.Create(CultureInfo.InvariantCulture, $"{number:000}-{name}"));
        var emulator = new PbxEmulator(options: options);
        var run = new CaseRun(settings, emulator, logPrefix, timeout);
        try
        {
            // The waits stop at the deadline; the extra margin only catches a hang outside them (an emulator call).
            await body(run).WaitAsync(timeout + TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            output.WriteLine($"# {name} run {number}: hung past its hard timeout of {timeout.TotalSeconds} s");
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            output.WriteLine($"# {name} run {number}: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            if (run.Monitor is { } monitor)
            {
                await monitor.DisposeAsync();
            }

            try
            {
                await emulator.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(15));
            }
            catch (TimeoutException)
            {
                output.WriteLine($"# {name} run {number}: the emulator did not stop within 15 s");
            }
        }

        foreach (var figure in figures)
        {
            figure.Add(run.Results.GetValueOrDefault(figure));
        }
    }

    private void PrintAll(IEnumerable<Figure> figures)
    {
        foreach (var figure in figures)
        {
            Print(figure);
        }
    }

    private void Print(Figure figure)
    {
        output.WriteLine(figure.Format(runtime));
        output.WriteLine($"#   runs: {figure.RunsText()}");
        output.Flush();
    }
}
