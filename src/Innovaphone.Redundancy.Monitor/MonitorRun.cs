using Innovaphone.Redundancy.Hosting;
using Innovaphone.Redundancy.Persistence;
using Innovaphone.Redundancy.Transport;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy.Monitor;

/// <summary>Runs the manager the settings describe and writes what it does, until stopped or faulted.</summary>
internal static class MonitorRun
{
    /// <summary>
    /// Runs until <paramref name="stop"/> (returns <see cref="MonitorCommandLine.Stopped"/>) or until the PBX rejects
    /// the login or logs the session out (<see cref="MonitorCommandLine.Faulted"/>); a password that cannot be had or a
    /// state file that cannot be placed returns <see cref="MonitorCommandLine.UsageError"/> before connecting.
    /// </summary>
    /// <param name="settings">The checked command line.</param>
    /// <param name="console">stdout, stderr, stdin.</param>
    /// <param name="stop">Ctrl-C or SIGTERM.</param>
    /// <param name="loggerFactory">Where logs go; null: stderr of the process at <see cref="MonitorSettings.LogLevel"/>.</param>
    /// <param name="zone">The time zone of the human lines; null: the machine's.</param>
    public static async Task<int> RunAsync(
        MonitorSettings settings,
        MonitorConsole console,
        CancellationToken stop,
        ILoggerFactory? loggerFactory = null,
        TimeZoneInfo? zone = null)
    {
        if (!TryGetPassword(settings, console, out var password, out var problem) || !TryGetStatePath(settings, out var statePath, out problem))
        {
            await console.Error.WriteLineAsync($"{MonitorCommandLine.CommandName}: {problem}");
            return MonitorCommandLine.UsageError;
        }

        // Where the state lives, on stderr: with --json, stdout carries JSON lines only.
        var scheme = settings.Scheme == PbxScheme.Wss ? "wss" : "ws";
        await console.Error.WriteLineAsync(
            $"{MonitorCommandLine.CommandName}: {scheme}://{settings.Pbx} as {settings.User}; " +
            (statePath is null ? "no state file (--no-state-file)" : $"state file {statePath}"));

        using var ownLoggerFactory = loggerFactory is null ? CreateLoggerFactory(settings.LogLevel) : null;
        var logs = loggerFactory ?? ownLoggerFactory!;

        await using var transport = new MyAppsWebSocketTransport(new MyAppsTransportOptions
        {
            Username = settings.User,
            Password = password,
            AllowInsecure = settings.Insecure,
            RemoteCertificateValidationCallback = CertificateThumbprints.CreateValidator(settings.TrustedThumbprints),
            Build = settings.Build ?? MyAppsTransportOptions.DefaultBuild,
            LoggerFactory = logs,
        });

        await using var manager = new RedundancyManager(new RedundancyOptions
        {
            Primary = settings.Pbx,
            Transport = transport,
            User = settings.User,
            Phys = settings.Phys,
            Scheme = settings.Scheme,
            Store = statePath is null ? null : new JsonFileRedundancyStore(statePath, logs.CreateLogger<JsonFileRedundancyStore>()),
            LoggerFactory = logs,
        });

        var output = new MonitorOutput(console.Out, settings, zone ?? TimeZoneInfo.Local, TimeProvider.System);
        var faulted = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var states = manager.StateChanges.Subscribe(change =>
        {
            output.OnStateChange(change);
            if (change.Current == RedundancyState.Faulted)
            {
                faulted.TrySetResult(change.Reason);
            }
        });
        using var infos = manager.ConnInfoChanges.Subscribe(output.OnConnInfo);

        // Stopped by Ctrl-C or SIGTERM: no clock involved, so no (system-clock) Task.Delay either.
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onStop = stop.Register(() => stopped.TrySetResult());
        try
        {
            await manager.StartAsync(stop);
            if (await Task.WhenAny(stopped.Task, faulted.Task) == faulted.Task)
            {
                await console.Error.WriteLineAsync($"{MonitorCommandLine.CommandName}: {await faulted.Task}");
                return MonitorCommandLine.Faulted;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Ctrl-C or SIGTERM: a clean stop.
        }

        await manager.StopAsync(CancellationToken.None);
        return MonitorCommandLine.Stopped;
    }

    /// <summary>Logs on stderr, one line each with the time, at <paramref name="level"/> and above.</summary>
    private static ILoggerFactory CreateLoggerFactory(LogLevel level) => LoggerFactory.Create(builder => builder
        .SetMinimumLevel(level)
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        })
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));

    private static bool TryGetPassword(MonitorSettings settings, MonitorConsole console, out string? password, out string? problem)
    {
        password = null;
        problem = null;
        if (settings.PasswordVariable is { } variable)
        {
            password = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(password))
            {
                problem = $"the environment variable '{variable}' named by --password-env is not set.";
                return false;
            }
        }
        else if (settings.PasswordFromStdin)
        {
            password = console.ReadPasswordLine();
            if (string.IsNullOrEmpty(password))
            {
                problem = "--password-stdin: standard input has no password line.";
                return false;
            }
        }

        return true;
    }

    private static bool TryGetStatePath(MonitorSettings settings, out string? path, out string? problem)
    {
        path = null;
        problem = null;
        if (settings.NoStateFile)
        {
            return true;
        }

        if (settings.StateFile is { } file)
        {
            path = Path.GetFullPath(file);
            return true;
        }

        try
        {
            path = JsonFileRedundancyStore.GetDefaultPath(settings.Pbx, settings.User);
            return true;
        }
        catch (InvalidOperationException e)
        {
            problem = $"{e.Message} Give --state-file <path> or --no-state-file.";
            return false;
        }
    }
}
