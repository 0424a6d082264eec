// The quick start of the README: a loopback PBX emulator with one master PBX and one user, and a manager that
// logs in there over the myApps WebSocket protocol. Prints connInfo (JSON) until the connection is up, then
// stops and exits with 0; exits with 1 if it is not up within 10 seconds.
//
// The lines between the quickstart markers are the README's quick start (a test keeps the two equal).
using Innovaphone.Redundancy;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Transport.WebSockets;

using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
await using var emulator = new PbxEmulator();
var master = await emulator.AddMasterAsync(cancellationToken: timeout.Token);
var password = "quick-start-password";
emulator.System.AddUser("alice", password, home: master);

// <quickstart>
var options = new MyAppsTransportOptions { Username = "alice", Password = password, AllowInsecure = true };
await using var transport = new MyAppsWebSocketTransport(options);
await using var manager = new RedundancyManager(new RedundancyOptions
{
    Primary = master.Address,   // a real PBX: PbxAddress.Parse("pbx.example.com/PBX0")
    Transport = transport,
    Scheme = emulator.Scheme,   // the emulator serves ws://; a real PBX: leave the default, wss://
});
using var subscription = manager.ConnInfoChanges.Subscribe(info => Console.WriteLine(info.ToJson()));
await manager.StartAsync(timeout.Token);
// </quickstart>

// A new subscriber gets the current connInfo at once, so an early "up" is not missed.
var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
using var upWatch = manager.ConnInfoChanges.Subscribe(info =>
{
    if (info.Up)
    {
        up.TrySetResult();
    }
});

try
{
    await up.Task.WaitAsync(timeout.Token);
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine($"Not up within 10 s; state {manager.State}.");
    return 1;
}

await manager.StopAsync(timeout.Token);
Console.WriteLine($"Up, then stopped: state {manager.State}.");
return 0;
