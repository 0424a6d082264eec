using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy.Service;

/// <summary>Logs every connInfo change, and stops the service with exit code 3 when the manager faults.</summary>
internal sealed partial class ConnInfoLogger(RedundancyManager manager, IHostApplicationLifetime lifetime, ILogger<ConnInfoLogger> logger) : IHostedService
{
    private IDisposable? _connInfo;
    private IDisposable? _states;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _connInfo = manager.ConnInfoChanges.Subscribe(info => ConnInfoChanged(logger, info));
        _states = manager.StateChanges.Subscribe(change =>
        {
            if (change.Current == RedundancyState.Faulted)
            {
                Faulted(logger, change.Reason);
                Environment.ExitCode = 3;
                lifetime.StopApplication();
            }
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _connInfo?.Dispose();
        _states?.Dispose();
        return Task.CompletedTask;
    }

    // ConnInfo formats as its JSON.
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "connInfo {ConnInfo}")]
    private static partial void ConnInfoChanged(ILogger logger, ConnInfo connInfo);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "The connection cannot be kept: {Reason}")]
    private static partial void Faulted(ILogger logger, string reason);
}

/// <summary>Stops the service after Service:RunFor seconds (or --run-for), when that is more than 0.</summary>
internal sealed class StopAfter(IConfiguration configuration, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var seconds = configuration.GetValue("Service:RunFor", 0.0);
        if (seconds > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(seconds), stoppingToken);
            lifetime.StopApplication();
        }
    }
}

/// <summary>With the emulated PBXes: the user's PBX fails and comes back in turn, so that the log shows failover.</summary>
internal sealed partial class EmulatorFailures(EmulatedInstallation installation, IConfiguration configuration, ILogger<EmulatorFailures> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Serving(logger, installation.Master.Address, installation.Slave.Address);
        var every = configuration.GetValue("Service:EmulatorFailEvery", TimeSpan.FromSeconds(10));
        if (every <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var slave = installation.Slave;
                if (slave.IsAlive)
                {
                    installation.Emulator.System.Kill(slave);
                }
                else
                {
                    installation.Emulator.System.Revive(slave);
                }

                Toggled(logger, slave.Address, slave.IsAlive);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown.
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "No PBX configured: serving an emulated master {Master} and slave {Slave} (the user's PBX) on 127.0.0.1")]
    private static partial void Serving(ILogger logger, PbxAddress master, PbxAddress slave);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Emulated PBX {Pbx} alive: {Alive}")]
    private static partial void Toggled(ILogger logger, PbxAddress pbx, bool alive);
}
