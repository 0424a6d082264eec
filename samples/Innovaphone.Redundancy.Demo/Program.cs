// The demo: a simulated innovaphone installation (a master, a slave, and an explicit standby PBX for the
// master) and two users, told as a story of failures through connInfo lines (JSON) and state changes.
// Runs in a few seconds with no network and no real PBX.
using Innovaphone.Redundancy;
using Innovaphone.Redundancy.Testing;

using var sim = new SimulatedPbxSystem();
var master = sim.AddMaster("master.example.com");
var slave = sim.AddSlave("slave.example.com", master);
var standby = sim.AddStandby("standby.example.com", standsInFor: master);
sim.AddUser("bob", "demo-password-b", home: slave);
sim.AddUser("alice", "demo-password-a", home: master);
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

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

Console.WriteLine($"live connections left in the simulator: {sim.LiveConnectionCount}");
return sim.LiveConnectionCount == 0 ? 0 : 1;

RedundancyManager Start(string user, string password, SimulatedPbx primary)
{
    var manager = new RedundancyManager(new RedundancyOptions
    {
        Primary = primary.Address,
        Transport = sim.CreateTransport(user, password),
        User = user,
        Phys = "berlin",
        BackoffInitial = TimeSpan.FromMilliseconds(100),
        BackoffMax = TimeSpan.FromMilliseconds(400),
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
