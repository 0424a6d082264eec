using System.Diagnostics.Metrics;
using Innovaphone.Redundancy.Persistence;
using Innovaphone.Redundancy.Transport;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Innovaphone.Redundancy.Hosting;

/// <summary>Builds the manager and the built-in transport from <see cref="RedundancyServiceOptions"/> and the container's services.</summary>
internal static class RedundancyServiceFactory
{
    public static RedundancyManager CreateManager(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<RedundancyServiceOptions>>().Value;
        var loggerFactory = services.GetService<ILoggerFactory>();
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;

        // A registered transport or store wins: that is how tests plug in the simulator and integrators their own.
        var transport = services.GetService<IPbxTransport>() ?? services.GetRequiredService<MyAppsWebSocketTransport>();
        // Validated at start; ParseInput names the problem should the manager be resolved before the host starts.
        var primary = PbxAddress.ParseInput(options.Primary ?? string.Empty, options.Scheme, out _);
        var store = services.GetService<IRedundancyStore>()
                    ?? (StatePath(options, primary) is { } path ? new JsonFileRedundancyStore(path, loggerFactory?.CreateLogger<JsonFileRedundancyStore>()) : null);
        // The host's meter factory (registered by AddMetrics, which the generic host does) scopes the manager's metrics.
        var managerOptions = ToManagerOptions(options, primary, transport, store, loggerFactory, time) with { MeterFactory = services.GetService<IMeterFactory>() };
        return new RedundancyManager(managerOptions);
    }

    public static MyAppsWebSocketTransport CreateTransport(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<RedundancyServiceOptions>>().Value;
        var transportOptions = ToTransportOptions(options, services.GetService<ILoggerFactory>(), services.GetService<TimeProvider>() ?? TimeProvider.System);
        return new MyAppsWebSocketTransport(transportOptions);
    }

    /// <summary>
    /// The state file the options ask for: none when <see cref="RedundancyServiceOptions.PersistState"/> is off, else
    /// <see cref="RedundancyServiceOptions.StateFile"/>, else the default file of the primary and user in
    /// <see cref="RedundancyServiceOptions.StateDirectory"/> or the per-user data folder.
    /// </summary>
    /// <exception cref="InvalidOperationException">Persistence is on, no file or folder is given and the process has no per-user data folder.</exception>
    public static string? StatePath(RedundancyServiceOptions options, PbxAddress primary)
    {
        if (!options.PersistState)
        {
            return null;
        }

        if (!string.IsNullOrWhiteSpace(options.StateFile))
        {
            return options.StateFile;
        }

        var user = string.IsNullOrWhiteSpace(options.User) ? null : options.User;
        var directory = string.IsNullOrWhiteSpace(options.StateDirectory) ? null : options.StateDirectory;
        return JsonFileRedundancyStore.GetDefaultPath(primary, user, directory);
    }

    /// <summary>The scheme of a myApps URL given as <see cref="RedundancyServiceOptions.Primary"/>, else <see cref="RedundancyServiceOptions.Scheme"/>.</summary>
    public static PbxScheme EffectiveScheme(RedundancyServiceOptions options) =>
        PbxAddress.TryParseInput(options.Primary, options.Scheme, out _, out var scheme, out _) ? scheme : options.Scheme;

    public static RedundancyOptions ToManagerOptions(
        RedundancyServiceOptions options,
        PbxAddress primary,
        IPbxTransport transport,
        IRedundancyStore? store,
        ILoggerFactory? loggerFactory,
        TimeProvider time) => new()
        {
            Primary = primary,
            Transport = transport,
            User = string.IsNullOrWhiteSpace(options.User) ? null : options.User,
            Scheme = EffectiveScheme(options),
            Phys = options.Phys,
            AttemptTimeout = options.AttemptTimeout,
            BackoffInitial = options.BackoffInitial,
            BackoffMax = options.BackoffMax,
            BackoffJitter = options.BackoffJitter,
            MinStableConnection = options.MinStableConnection,
            ReconnectJitter = options.ReconnectJitter,
            StaggerDelay = options.StaggerDelay,
            MaxRedirectHops = options.MaxRedirectHops,
            TimeProvider = time,
            LoggerFactory = loggerFactory,
            Store = store,
        };

    public static MyAppsTransportOptions ToTransportOptions(RedundancyServiceOptions options, ILoggerFactory? loggerFactory, TimeProvider time)
    {
        var transport = new MyAppsTransportOptions
        {
            Username = options.User ?? string.Empty,
            Password = options.Password,
            InitialSession = string.IsNullOrEmpty(options.SessionId) || options.SessionPassword is null
                ? null
                : new MyAppsSession(options.SessionId, options.SessionPassword),
            UserAgent = options.UserAgent,
            PathTemplate = options.PathTemplate,
            Build = options.Build,
            AllowInsecure = options.AllowInsecure,
            RemoteCertificateValidationCallback = CertificateThumbprints.CreateValidator(options.TrustedCertificateThumbprints),
            MaxFrameBytes = options.MaxFrameBytes,
            KeepAliveInterval = options.KeepAliveInterval,
            KeepAliveTimeout = options.KeepAliveTimeout,
            ConnectTimeout = options.ConnectTimeout,
            LoginTimeout = options.LoginTimeout,
            SignInTimeout = options.AuthorizeTimeout,
            CloseTimeout = options.CloseTimeout,
            TimeProvider = time,
            LoggerFactory = loggerFactory,
        };
        return options.ConfigureTransport is { } configure ? configure(transport) : transport;
    }
}
