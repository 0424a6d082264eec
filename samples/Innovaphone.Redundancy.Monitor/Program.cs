// The monitor: points the library at a real PBX (or the emulator) and shows connInfo as it changes.
// Exit codes: 0 stopped by Ctrl-C / SIGTERM, 2 bad arguments, 3 login rejected or session logged out (faulted).
using System.Globalization;
using System.Runtime.InteropServices;
using Innovaphone.Redundancy;
using Innovaphone.Redundancy.Monitor;
using Innovaphone.Redundancy.Persistence;
using Innovaphone.Redundancy.Transport;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Logging;

if (!MonitorArguments.TryParse(args, out var arguments, out var error))
{
    Console.Error.WriteLine($"monitor: {error}. {MonitorArguments.Usage}");
    return 2;
}

string? password = null;
if (arguments!.PasswordVariable is { } variable)
{
    password = Environment.GetEnvironmentVariable(variable);
    if (string.IsNullOrEmpty(password))
    {
        Console.Error.WriteLine($"monitor: the environment variable '{variable}' named by --password-env is not set. {MonitorArguments.Usage}");
        return 2;
    }
}

// Logs go to stderr, so that with --json stdout carries connInfo lines only.
using var loggerFactory = LoggerFactory.Create(builder => builder
    .SetMinimumLevel(arguments.Json ? LogLevel.Warning : LogLevel.Information)
    .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
    .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));

await using var transport = new MyAppsWebSocketTransport(new MyAppsTransportOptions
{
    Username = arguments.User,
    Password = password,
    AllowInsecure = arguments.Insecure,
    Build = arguments.Build ?? MyAppsTransportOptions.DefaultBuild,
    LoggerFactory = loggerFactory,
});

await using var manager = new RedundancyManager(new RedundancyOptions
{
    Primary = arguments.Pbx,
    Transport = transport,
    User = arguments.User,
    Phys = arguments.Phys,
    Scheme = arguments.Scheme,
    Store = arguments.StateFile is { } path ? new JsonFileRedundancyStore(path, loggerFactory.CreateLogger<JsonFileRedundancyStore>()) : null,
    LoggerFactory = loggerFactory,
});

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});

var faulted = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
using var states = manager.StateChanges.Subscribe(change =>
{
    if (change.Current == RedundancyState.Faulted)
    {
        faulted.TrySetResult(change.Reason);
    }

    if (!arguments.Json)
    {
        var next = change.NextAttemptAt is { } due ? string.Create(CultureInfo.InvariantCulture, $" (next round at {due:HH:mm:ss.fff})") : string.Empty;
        Console.WriteLine($"{change.Timestamp.ToLocalTime():HH:mm:ss.fff} {change.Previous,-10} -> {change.Current,-10} {change.Reason}{next}");
    }
});
using var infos = manager.ConnInfoChanges.Subscribe(info =>
{
    if (arguments.Json)
    {
        Console.Out.WriteLine(info.ToJson());
        Console.Out.Flush();
    }
    else
    {
        var state = info.Up ? info.Standby ? "UP (standby)" : "UP" : "DOWN";
        Console.WriteLine($"             connInfo {state,-12} cur={info.Cur?.ToString() ?? "-"} pri={info.Pri} sec={info.Sec?.ToString() ?? "-"} phys={info.Phys ?? "-"}");
    }
});

try
{
    await manager.StartAsync(stop.Token);
    var stopped = Task.Delay(Timeout.InfiniteTimeSpan, stop.Token);
    var first = await Task.WhenAny(stopped, faulted.Task);
    if (first == faulted.Task)
    {
        Console.Error.WriteLine($"monitor: {await faulted.Task}");
        return 3;
    }
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
    // Ctrl-C or SIGTERM: a clean stop.
}

await manager.StopAsync(CancellationToken.None);
return 0;
