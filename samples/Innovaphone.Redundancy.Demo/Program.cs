// The demo: a simulated innovaphone installation (a master, a slave, and an explicit standby PBX for the
// master) and two users, told as a story of failures through connInfo lines (JSON) and state changes.
//
//   (no arguments)  the PBXes are served over real WebSockets on 127.0.0.1 (the loopback emulator) and the
//                   manager uses the myApps WebSocket transport: logins with digests, Redirect, StandbyBack.
//   --in-memory     the same story with the in-memory simulator (no sockets at all).
//   --serve         only serve the emulated installation, killing and reviving the master every 5 s, for the
//                   monitor to watch; prints the monitor command line. Ctrl-C stops.
//   --serve-sso     the same, but every PBX signs users in only through an emulated identity provider (OAuth2):
//                   the monitor prints a sign-in URL; opening it (browser, curl) signs in alice.
using Innovaphone.Redundancy;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Transport.WebSockets;

var mode = args.Length == 0 ? "--emulator" : args[0];
if (mode is not ("--emulator" or "--in-memory" or "--serve" or "--serve-sso") || args.Length > 1)
{
    Console.Error.WriteLine("usage: demo [--in-memory | --serve | --serve-sso]");
    return 2;
}

using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
var sim = new SimulatedPbxSystem();
await using var emulator = mode == "--in-memory" ? null : new PbxEmulator(sim);
var transports = new List<IAsyncDisposable>();
var master = emulator is null ? sim.AddMaster("master.example.com") : await emulator.AddMasterAsync();
var slave = emulator is null ? sim.AddSlave("slave.example.com", master) : await emulator.AddSlaveAsync(master);
var standby = emulator is null ? sim.AddStandby("standby.example.com", master) : await emulator.AddStandbyAsync(master);
sim.AddUser("bob", "demo-password-b", home: slave);
sim.AddUser("alice", "demo-password-a", home: master);

if (mode == "--serve-sso")
{
    foreach (var pbx in new[] { master, slave, standby })
    {
        sim.SetLoginMethods(pbx, SimulatedLoginMethods.SingleSignOnOnly);
    }

    emulator!.SignInAs("alice");
    return await ServeAsync(sso: true);
}

if (mode == "--serve")
{
    return await ServeAsync(sso: false);
}

Console.WriteLine(emulator is null
    ? "Mode: in-memory simulator."
    : $"Mode: loopback emulator over WebSockets; master {master.Address}, slave {slave.Address}, standby {standby.Address}.");
Console.WriteLine();
Console.WriteLine("# Act 1: bob lives on the slave; his client is configured at the master.");
await using (var bob = Start("bob", "demo-password-b", master))
{
    await Step(bob, "Start at the master: it redirects to bob's PBX (R2, R3); secondary = the slave (R5)",
        () => { }, i => i.Up && i.Cur == slave.Address);
    await Step(bob, "The slave fails: retry it first (R7), then the master, which keeps bob as standby (R4)",
        () => sim.Kill(slave), i => i.Up && i.Standby && i.Cur == master.Address);
    await Step(bob, "The slave is back: the master sends StandbyBack, bob returns home at once (R8)",
        () => sim.Revive(slave), i => i.Up && !i.Standby && i.Cur == slave.Address);
    await bob.StopAsync(timeout.Token);
}

Console.WriteLine();
Console.WriteLine("# Act 2: alice lives on the master, which has an explicit standby PBX.");
await using (var alice = Start("alice", "demo-password-a", master))
{
    await Step(alice, "Start: logged in at the master; secondary = its explicit standby (R5)",
        () => { }, i => i.Up && i.Cur == master.Address && i.Sec == standby.Address);
    await Step(alice, "The master fails: the standby PBX takes alice as standby (R4, R7)",
        () => sim.Kill(master), i => i.Up && i.Standby && i.Cur == standby.Address);
    var rounds = 0;
    using (alice.StateChanges.Subscribe(c => rounds += c.Current == RedundancyState.Failover ? 1 : 0))
    {
        await Step(alice, "The standby fails too: primary and secondary alternate, with growing backoff between rounds (R6)",
            () => sim.Kill(standby), i => !i.Up);
        await WaitFor(alice, _ => Volatile.Read(ref rounds) >= 3, alice.StateChanges);
    }

    await Step(alice, "Both come back: the next round reaches the primary again (R2)",
        () => { sim.Revive(standby); sim.Revive(master); }, i => i.Up && !i.Standby && i.Cur == master.Address);
    Console.WriteLine();
    Console.WriteLine("== Stop (R11)");
    await alice.StopAsync(timeout.Token);
}

foreach (var transport in transports)
{
    await transport.DisposeAsync();
}

Console.WriteLine($"live logins left in the simulator: {sim.LiveConnectionCount}");
return sim.LiveConnectionCount == 0 ? 0 : 1;

RedundancyManager Start(string user, string password, SimulatedPbx primary)
{
    IPbxTransport transport = sim.CreateTransport(user, password);
    if (emulator is not null)
    {
        var webSockets = new MyAppsWebSocketTransport(new MyAppsTransportOptions { Username = user, Password = password, AllowInsecure = true });
        transports.Add(webSockets);
        transport = webSockets;
    }

    var manager = new RedundancyManager(new RedundancyOptions
    {
        Primary = primary.Address,
        Transport = transport,
        Scheme = emulator?.Scheme ?? PbxScheme.Wss,
        User = user,
        Phys = "berlin",
        BackoffInitial = TimeSpan.FromMilliseconds(100),
        BackoffMax = TimeSpan.FromMilliseconds(400),

        // The story fails PBXes right after each login; that is no flapping PBX.
        MinStableConnection = TimeSpan.Zero,
    });
    manager.ConnInfoChanges.Subscribe(info => Console.WriteLine($"   connInfo {info.ToJson()}"));
    manager.StateChanges.Subscribe(change => Console.WriteLine(
        $"   state    {change.Previous} -> {change.Current}: {change.Reason}" +
        (change.NextAttemptAt is { } due ? $" (next round in {(due - change.Timestamp).TotalMilliseconds:0} ms)" : string.Empty)));
    return manager;
}

async Task Step(RedundancyManager manager, string title, Action act, Func<ConnInfo, bool> until)
{
    Console.WriteLine();
    Console.WriteLine($"== {title}");
    act();
    if (manager.State is RedundancyState.Idle)
    {
        await manager.StartAsync(timeout.Token);
    }

    await WaitFor<ConnInfo>(manager, until);
}

async Task WaitFor<T>(RedundancyManager manager, Func<ConnInfo, bool> until, IObservable<T>? trigger = null)
{
    var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    void Check()
    {
        if (until(manager.ConnInfo))
        {
            reached.TrySetResult();
        }
    }

    using var watch = manager.ConnInfoChanges.Subscribe(_ => Check());
    using var watchTrigger = trigger?.Subscribe(_ => Check());
    await reached.Task.WaitAsync(timeout.Token);
}

async Task<int> ServeAsync(bool sso)
{
    using var stop = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        stop.Cancel();
    };
    Console.WriteLine($"Serving master {master.Address}, slave {slave.Address}, standby {standby.Address}.");
    Console.WriteLine("Watch it with the ipr-monitor tool (docs/monitor.md), installed or from the repository:");
    if (sso)
    {
        Console.WriteLine("Users sign in only through the emulated identity provider; opening the printed sign-in URL signs in alice.");
        Console.WriteLine($"  ipr-monitor --pbx {master.Address} --user alice --sso --insecure");
        Console.WriteLine($"  dotnet run --project src/Innovaphone.Redundancy.Monitor -- --pbx {master.Address} --user alice --sso --insecure");
    }
    else
    {
        Console.WriteLine("Users: alice (on the master, password demo-password-a), bob (on the slave, password demo-password-b).");
        Console.WriteLine($"  DEMO_PASSWORD=demo-password-a ipr-monitor --pbx {master.Address} --user alice --password-env DEMO_PASSWORD --insecure");
        Console.WriteLine($"  DEMO_PASSWORD=demo-password-a dotnet run --project src/Innovaphone.Redundancy.Monitor -- --pbx {master.Address} --user alice --password-env DEMO_PASSWORD --insecure");
    }

    // A sign-in takes a person a while, and the sign-in page is served by the PBX that asks: a slower cycle.
    var period = TimeSpan.FromSeconds(sso ? 15 : 5);
    Console.WriteLine($"The master is killed and revived every {period.TotalSeconds} s. Ctrl-C stops.");
    try
    {
        using var timer = new PeriodicTimer(period);
        while (await timer.WaitForNextTickAsync(stop.Token))
        {
            if (master.IsAlive)
            {
                sim.Kill(master);
                Console.WriteLine("master killed");
            }
            else
            {
                sim.Revive(master);
                Console.WriteLine("master revived");
            }
        }
    }
    catch (OperationCanceledException) when (stop.IsCancellationRequested)
    {
        // Ctrl-C: the emulator is disposed on the way out.
    }

    return 0;
}
