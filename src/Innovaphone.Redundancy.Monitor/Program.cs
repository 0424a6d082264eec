// ipr-monitor: points the library at a real PBX (or the emulator) and shows what the failover logic does.
// Exit codes: 0 stopped by Ctrl-C / SIGTERM, 2 usage error, 3 login rejected or session logged out (faulted).
using System.Runtime.InteropServices;
using Innovaphone.Redundancy.Monitor;

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

return await MonitorCommandLine.RunAsync(args, MonitorConsole.System, stop.Token).ConfigureAwait(false);
