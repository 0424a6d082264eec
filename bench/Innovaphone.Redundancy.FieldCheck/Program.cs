using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Innovaphone.Redundancy.FieldCheck;

// The field check: the REAL Monitor CLI, as users run it (library defaults, no tuning flags), against the loopback PBX
// emulator hosted in this process. Figures are what a user sees on the Monitor's stdout, stamped on arrival here.
// Usage: see Settings.Usage; bench/fieldcheck.sh builds both runtimes of the Monitor and runs this once per runtime.
if (!Settings.TryParse(args, out var settings, out var error))
{
    Console.Error.WriteLine($"fieldcheck: {error}. {Settings.Usage}");
    return 2;
}

// Whatever ends the runner (Ctrl-C, an unhandled exception), no Monitor may outlive it.
Console.CancelKeyPress += (_, _) => MonitorProcess.KillAll();
AppDomain.CurrentDomain.ProcessExit += (_, _) => MonitorProcess.KillAll();
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => MonitorProcess.KillAll());
using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, _ => MonitorProcess.KillAll());

var output = Console.Out;
output.WriteLine($"""
    # field check: the Monitor CLI ({string.Join(' ', settings!.MonitorCommand)}) started as users start it:
    #   --pbx <P> --user <u> --password-env <VAR> --insecure --json, nothing else (library defaults).
    # Every figure is measured from the event (process start, kill, revive, freeze) to the arrival of the Monitor's
    # connInfo line on its stdout, so it includes the pipe and the JSON line, as a user watching the Monitor sees it.
    #   floor.start-to-up          start of the Monitor process -> up:true at a single PBX (process start included)
    #   floor.ready-to-up          the Monitor's first connInfo line (up:false, before it connects) -> up:true: no process start (the connect path still JITs)
    #   floor.kill-to-standby      PBX P killed 3 s after up (a stable connection) -> up:true standby:true at P's explicit standby B;
    #                              the reconnect floor: the fastest failover through this pipeline
    #   chain.*                    master M, slaves S1 and S2, user on S2, Monitor at S1 (S1 -> M -> S2):
    #     start-to-up-S2           Monitor start -> up at S2 (standby:false) through the 2 redirects
    #     ready-to-up-S2           first connInfo line -> up at S2 (target from floor.ready-to-up)
    #     kill-S2-to-standby-M     S2 killed as soon as up at S2 is seen -> up:true standby:true cur=M
    #     revive-S2-to-up-S2       1 s later S2 revived (M sends StandbyBack) -> up at S2, standby:false
    #   chain-linger2s.*           the same with every PBX keeping TCP open 2 s after its close frame
    #   standby.kill-100ms-...     P (with standby B) killed 100 ms after up -> up standby at B
    #   frozen.*                   up at P (standby B) for 3 s, then P frozen (TCP open, nothing read or answered):
    #     cut-to-down              freeze -> first line that is not up at P (detection)
    #     down-to-up-B             detection -> up at B;  cut-to-up-B: freeze -> up at B (end to end)
    #   blackhole.*                the same with P black-holed (connects never complete)
    #   netchange.change-to-up-B   up at P (standby B) for 3 s, then P frozen and at once a real network change (an address
    #                              added to lo in the runner's private network namespace) -> up at B
    #   coldwarm-ws.*, coldwarm-wss.*  a fresh Monitor at P (standby B) over ws:// (--insecure) or wss:// (the emulator's
    #                              self-signed certificate pinned with --trust-thumbprint instead of --insecure):
    #     cold-kill-to-standby-B   P killed 3 s after up -> up standby at B: the first failover of the process
    #     warm-kill-to-standby-B   P revived (StandbyBack takes the Monitor back to P), the same kill 3 s after up -> standby at B
    #     cold-over-warm           cold / warm of the same Monitor, per run (target: p50 <= 2)
    #   idle.changes-in-Ns         up at P, P sends nothing for N s: connInfo lines after the first up (expected 0)
    # Targets: fast cases p50 <= 2 x floor p50 + 5 ms (start/ready-based: start/ready floor; kill/revive-based: reconnect floor);
    #   silent cases: detection <= 15 s, up on B <= 250 ms stagger + 2 x reconnect floor after detection, <= 17 s end to end;
    #   network change: <= 3 s; idle: 0 changes. A timed-out run counts as slower than all others; a figure with a timeout never passes.
    # runs: fast cases {settings.Runs}, slow cases {settings.SlowRuns}; hard timeouts {settings.Timeout.TotalSeconds} s / {settings.SlowTimeout.TotalSeconds} s
    # columns: case runtime p50 max unit target verdict
    """);

// Without --runtime the column says "monitor" and the loaded runtime is printed below: a label is only checked by a person.
var label = settings.Runtime ?? "monitor";
Directory.CreateDirectory(Path.Combine(settings.Artifacts, label));
var cases = new FieldCases(settings, label, output);
await cases.FloorsAsync();
output.WriteLine($"# Monitor runtime loaded: {cases.LoadedRuntime ?? "unknown"}");
if (settings.Runtime is null && cases.LoadedRuntime is { } loaded && Regex.Match(loaded, @"^(\d+)\.(\d+)") is { Success: true } m)
{
    output.WriteLine($"# (runtime column 'monitor' is net{m.Groups[1].Value}.{m.Groups[2].Value}; pass --runtime to name it)");
}

if (settings.Cases.Contains("chain"))
{
    await cases.ChainAsync(linger: false);
    await cases.ChainAsync(linger: true);
}

if (settings.Cases.Contains("standby"))
{
    await cases.StandbySoonAsync();
}

if (settings.Cases.Contains("coldwarm"))
{
    await cases.ColdWarmAsync(tls: false);
    await cases.ColdWarmAsync(tls: true);
}

if (settings.Cases.Contains("frozen"))
{
    await cases.SilentAsync(blackHole: false);
}

if (settings.Cases.Contains("blackhole"))
{
    await cases.SilentAsync(blackHole: true);
}

if (settings.Cases.Contains("netchange"))
{
    await cases.NetworkChangeAsync();
}

if (settings.Cases.Contains("idle"))
{
    await cases.IdleAsync();
}

return 0;
