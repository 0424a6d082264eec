using Innovaphone.Redundancy.Hosting;
using Innovaphone.Redundancy.Persistence;
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
        if (!TryGetPassword(settings, console, out var password, out var problem) || !TryGetStatePath(settings, out var statePath, out problem)
            || !TryGetSessionPath(settings, out var sessionPath, out problem))
        {
            await console.Error.WriteLineAsync($"{MonitorCommandLine.CommandName}: {problem}").ConfigureAwait(false);
            return MonitorCommandLine.UsageError;
        }

        // Where the state lives, on stderr: with --json, stdout carries JSON lines only.
        var scheme = settings.Scheme == PbxScheme.Wss ? "wss" : "ws";
        await console.Error.WriteLineAsync(
            $"{MonitorCommandLine.CommandName}: {scheme}://{settings.Pbx} as {settings.User}; " +
            (statePath is null ? "no state file (--no-state-file)" : $"state file {statePath}") +
            (sessionPath is null ? string.Empty : $"; session file {sessionPath}") +
            (password is null ? "; no password: signing in through the identity provider where the PBX offers it" : string.Empty)).ConfigureAwait(false);

        using var ownLoggerFactory = loggerFactory is null ? CreateLoggerFactory(settings.LogLevel) : null;
        var logs = loggerFactory ?? ownLoggerFactory!;

        var output = new MonitorOutput(console.Out, settings, zone ?? TimeZoneInfo.Local, TimeProvider.System);

        // Without a password the PBX's sign-in (OAuth2/SSO) is the only way in; with one, --sso allows it where the PBX
        // offers no password login. The sign-in URL and code go to the person on stderr (and to scripts with --events).
        var transport = new MyAppsWebSocketTransport(new MyAppsTransportOptions
        {
            Username = settings.User,
            Password = password,
            AllowSingleSignOn = settings.SingleSignOn || password is null,
            OnSignIn = signIn => output.OnSignIn(console.Error, signIn),
            OnAuthorize = code => output.OnSignInCode(console.Error, code),
            SessionStore = sessionPath is null ? null : new JsonFileMyAppsSessionStore(sessionPath, logs.CreateLogger<JsonFileMyAppsSessionStore>()),
            AllowInsecure = settings.Insecure,
            RemoteCertificateValidationCallback = CertificateThumbprints.CreateValidator(settings.TrustedThumbprints),
            Build = settings.Build ?? MyAppsTransportOptions.DefaultBuild,
            LoggerFactory = logs,
        });
        await using var disposeTransport = transport.ConfigureAwait(false);

        var manager = new RedundancyManager(new RedundancyOptions
        {
            Primary = settings.Pbx,
            Transport = transport,
            User = settings.User,
            Phys = settings.Phys,
            Scheme = settings.Scheme,
            Store = statePath is null ? null : new JsonFileRedundancyStore(statePath, logs.CreateLogger<JsonFileRedundancyStore>()),
            LoggerFactory = logs,
        });
        await using var disposeManager = manager.ConfigureAwait(false);

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
            await manager.StartAsync(stop).ConfigureAwait(false);
            if (await Task.WhenAny(stopped.Task, faulted.Task).ConfigureAwait(false) == faulted.Task)
            {
                await console.Error.WriteLineAsync($"{MonitorCommandLine.CommandName}: {await faulted.Task.ConfigureAwait(false)}").ConfigureAwait(false);
                if (password is null)
                {
                    // Most often the PBX offers no sign-in: say how to give the password it asks for.
                    await console.Error.WriteLineAsync(
                        $"{MonitorCommandLine.CommandName}: no password was given; give one with --password-env <variable> or --password-stdin.").ConfigureAwait(false);
                }

                return MonitorCommandLine.Faulted;
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Ctrl-C or SIGTERM: a clean stop.
        }

        await manager.StopAsync(CancellationToken.None).ConfigureAwait(false);
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

    private static bool TryGetSessionPath(MonitorSettings settings, out string? path, out string? problem)
    {
        path = null;
        problem = null;
        if (!settings.KeepSession)
        {
            return true;
        }

        if (settings.SessionFile is { } file)
        {
            path = Path.GetFullPath(file);
            return true;
        }

        try
        {
            path = JsonFileMyAppsSessionStore.GetDefaultPath(settings.Pbx, settings.User);
            return true;
        }
        catch (InvalidOperationException e)
        {
            problem = $"{e.Message} Give --session-file <path>.";
            return false;
        }
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
