// The softphone sample: an integrator's softphone that registers where connInfo says, in both host kinds, against
// the in-memory simulator (no PBX, no sockets). The installation is a master PBX with an explicit standby PBX;
// alice lives on the master. The story: start, the master dies, the master comes back. For every connInfo the
// manager publishes, each host's registrar prints its decision; each softphone then registers where it is told
// (registrations are simulator logins, which redirect and keep standby registrations as PBXes do).
using Innovaphone.Redundancy;
using Innovaphone.Redundancy.Softphone;
using Innovaphone.Redundancy.Testing;

using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
using var sim = new SimulatedPbxSystem();
var master = sim.AddMaster("master.example.com");
var standby = sim.AddStandby("standby.example.com", master);
sim.AddUser("alice", "demo-password-a", home: master);

await using var manager = new RedundancyManager(new RedundancyOptions
{
    Primary = master.Address,
    Transport = sim.CreateTransport("alice", "demo-password-a"),
    User = "alice",
    BackoffInitial = TimeSpan.FromMilliseconds(100),
    BackoffMax = TimeSpan.FromMilliseconds(400),
    MinStableConnection = TimeSpan.Zero,
});
manager.ConnInfoChanges.Subscribe(info => Console.WriteLine($"   connInfo {info.ToJson()}"));

// Subscribe the registrars before starting, so that they see every connInfo.
using var launcher = new SoftphoneRegistrar(manager.ConnInfoChanges, new SoftphoneRegistrationOptions
{
    HostKind = SoftphoneHostKind.Launcher,
    NoPhysicalLocation = false,
});
using var browser = new SoftphoneRegistrar(manager.ConnInfoChanges, new SoftphoneRegistrationOptions
{
    HostKind = SoftphoneHostKind.Browser,
});
launcher.Decisions.Subscribe(d => Console.WriteLine($"   launcher {d}"));
browser.Decisions.Subscribe(d => Console.WriteLine($"   browser  {d}"));
await using var launcherPhone = new Softphone("launcher", launcher, sim.CreateTransport("alice", "demo-password-a"));
await using var browserPhone = new Softphone("browser ", browser, sim.CreateTransport("alice", "demo-password-a"));

Console.WriteLine("== Start: the client logs in at the master and learns the standby PBX as its secondary");
await manager.StartAsync(timeout.Token);
await WaitUntil(() => manager.ConnInfo is { Up: true, Sec: not null } && browser.Current.Target == master.Address);
await launcherPhone.SettleAsync(timeout.Token);
await browserPhone.SettleAsync(timeout.Token);

Console.WriteLine();
Console.WriteLine("== The master dies: the client goes to the standby PBX; the launcher's softphone alternates to the secondary,");
Console.WriteLine("   the browser's follows cur; the standby PBX keeps both registrations as standby");
sim.Kill(master);
await WaitUntil(() => manager.ConnInfo is { Up: true, Standby: true } && browser.Current.Target == standby.Address);
await launcherPhone.SettleAsync(timeout.Token);
await browserPhone.SettleAsync(timeout.Token);

Console.WriteLine();
Console.WriteLine("== The master is back: the standby PBX sends everyone home");
sim.Revive(master);
await WaitUntil(() => manager.ConnInfo is { Up: true, Standby: false } && browser.Current.Target == master.Address);
await launcherPhone.SettleAsync(timeout.Token);
await browserPhone.SettleAsync(timeout.Token);

var home = launcher.Current is { Status: SoftphoneRegistrationStatus.Registered } l && l.Target == master.Address &&
           browser.Current is { Status: SoftphoneRegistrationStatus.Registered } b && b.Target == master.Address;
Console.WriteLine();
Console.WriteLine(home ? "Both softphones are registered at the master again." : "A softphone did not return to the master.");

Console.WriteLine();
Console.WriteLine("== Stop: the client is down, so the browser's softphone has nothing to register to");
await manager.StopAsync(timeout.Token);
return home ? 0 : 1;

// Polls the condition on every connInfo and every decision, bounded by the sample's timeout.
async Task WaitUntil(Func<bool> condition)
{
    var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    void Check()
    {
        if (condition())
        {
            reached.TrySetResult();
        }
    }

    using var a = manager.ConnInfoChanges.Subscribe(_ => Check());
    using var b = launcher.Decisions.Subscribe(_ => Check());
    using var c = browser.Decisions.Subscribe(_ => Check());
    await reached.Task.WaitAsync(timeout.Token);
}

/// <summary>
/// A softphone as an integrator writes it: it registers where the registrar says and reports every answer back.
/// Registrations are simulator logins here; a real softphone sends its registration with the physical location.
/// </summary>
internal sealed class Softphone(string name, SoftphoneRegistrar registrar, IPbxTransport transport) : IAsyncDisposable
{
    private IPbxConnection? _registration;
    private long _attempt;

    /// <summary>Acts until the registrar's decision is a registration this softphone holds (or there is nothing to do).</summary>
    public async Task SettleAsync(CancellationToken cancellationToken)
    {
        for (var step = 0; step < 20; step++)
        {
            if (_registration is { Lost.IsCompleted: true } lost)
            {
                _registration = null;
                Console.WriteLine($"   {name} registration at {lost.Pbx} lost ({(await lost.Lost).Kind})");
                await lost.DisposeAsync();
                registrar.ReportFailure(lost.Pbx);
                continue;
            }

            var decision = registrar.Current;
            if (decision.Target is not { } target ||
                (decision.Status is SoftphoneRegistrationStatus.Registered or SoftphoneRegistrationStatus.RegisteredStandby && _registration?.Pbx == target))
            {
                return;
            }

            if (_registration is { } previous)
            {
                _registration = null;
                await previous.DisposeAsync();
            }

            Console.WriteLine($"   {name} registers at {target} with physical location {decision.PhysicalLocation}");
            switch (await transport.ConnectAsync(new PbxLoginRequest(target, PbxScheme.Wss, ++_attempt), cancellationToken))
            {
                case LoggedIn loggedIn:
                    _registration = loggedIn.Connection;
                    registrar.ReportRegistered(target, standby: loggedIn.Info.Standby == true);
                    break;
                case Redirected redirected:
                    registrar.ReportRedirect(target, redirected.Target);
                    break;
                case AttemptFailed failed:
                    Console.WriteLine($"   {name} registration at {target} failed: {failed.Reason}");
                    registrar.ReportFailure(target);
                    break;
                case var other:
                    throw new InvalidOperationException($"Unexpected registration outcome {other}.");
            }
        }

        throw new InvalidOperationException($"The {name} softphone did not settle: {registrar.Current}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_registration is not null)
        {
            await _registration.DisposeAsync();
        }
    }
}
