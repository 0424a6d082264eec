using System.Diagnostics.Metrics;
using Innovaphone.Redundancy.Persistence;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Innovaphone.Redundancy.Hosting;

/// <summary>
/// Builds the manager's and the built-in transport's options from <see cref="RedundancyServiceOptions"/>: the library's
/// own defaults, the section's keys bound onto them, the service's settings, then the code's adjustments. Nothing here
/// repeats a default or a range: those live in <see cref="RedundancyOptions"/> and <see cref="MyAppsTransportOptions"/>.
/// </summary>
internal static class RedundancyServiceFactory
{
    /// <summary>Stands in for the primary until it is parsed (the manager's options require one).</summary>
    private static readonly PbxAddress PlaceholderPrimary = new("placeholder.invalid");

    public static RedundancyManager CreateManager(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<RedundancyServiceOptions>>().Value;
        var loggerFactory = services.GetService<ILoggerFactory>();
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;

        // A registered transport or store wins: that is how tests plug in the simulator and integrators their own.
        var transport = services.GetService<IPbxTransport>() ?? services.GetRequiredService<MyAppsWebSocketTransport>();
        var manager = ToManagerOptions(options, transport, loggerFactory, time);
        var store = manager.Store ?? services.GetService<IRedundancyStore>()
                    ?? (StatePath(options, manager.Primary) is { } path ? new JsonFileRedundancyStore(path, loggerFactory?.CreateLogger<JsonFileRedundancyStore>()) : null);
        // The host's meter factory (registered by AddMetrics, which the generic host does) scopes the manager's metrics.
        var managerOptions = manager with { Store = store, MeterFactory = manager.MeterFactory ?? services.GetService<IMeterFactory>() };
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

        return JsonFileRedundancyStore.GetDefaultPath(primary, NullIfBlank(options.User), NullIfBlank(options.StateDirectory));
    }

    /// <summary>The manager's options as the service uses them, without the store (which the container may give).</summary>
    /// <exception cref="ArgumentException"><see cref="RedundancyServiceOptions.Primary"/> is missing or not a PBX address (start-up validation says so first).</exception>
    /// <exception cref="InvalidOperationException">A key's value cannot be converted to its setting's type; the message names the key.</exception>
    public static RedundancyOptions ToManagerOptions(RedundancyServiceOptions options, IPbxTransport transport, ILoggerFactory? loggerFactory, TimeProvider time)
    {
        var bound = BindManagerOptions(options, transport, loggerFactory, time);
        var primary = PbxAddress.ParseInput(options.Primary ?? string.Empty, bound.Scheme, out var scheme);
        return CompleteManagerOptions(options, bound, primary, scheme);
    }

    /// <summary>
    /// The session file the options ask for: none unless <see cref="RedundancyServiceOptions.PersistSession"/> or
    /// <see cref="RedundancyServiceOptions.SessionFile"/>; else that file, or the default one of the primary and user.
    /// </summary>
    public static string? SessionPath(RedundancyServiceOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.SessionFile))
        {
            return options.SessionFile;
        }

        // An unusable primary or a process without a data folder: start-up validation reports either.
        if (!options.PersistSession || !PbxAddress.TryParseInput(options.Primary, PbxScheme.Wss, out var primary, out _, out _))
        {
            return null;
        }

        try
        {
            return JsonFileMyAppsSessionStore.GetDefaultPath(primary, NullIfBlank(options.User), NullIfBlank(options.StateDirectory));
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// The manager's options with the section's keys bound onto the library's defaults; the primary is a placeholder
    /// until <see cref="CompleteManagerOptions"/> sets it (its default port depends on the bound <c>Scheme</c>).
    /// </summary>
    /// <exception cref="InvalidOperationException">A key's value cannot be converted to its setting's type; the message names the key.</exception>
    public static RedundancyOptions BindManagerOptions(RedundancyServiceOptions options, IPbxTransport transport, ILoggerFactory? loggerFactory, TimeProvider time) =>
        Bind(options.Configuration, new RedundancyOptions { Primary = PlaceholderPrimary, Transport = transport, TimeProvider = time, LoggerFactory = loggerFactory });

    /// <summary>Sets what the service decides (primary, its scheme, the user), then applies <see cref="RedundancyServiceOptions.ConfigureManager"/>.</summary>
    public static RedundancyOptions CompleteManagerOptions(RedundancyServiceOptions options, RedundancyOptions bound, PbxAddress primary, PbxScheme scheme)
    {
        var manager = bound with { Primary = primary, Scheme = scheme, User = NullIfBlank(options.User) ?? bound.User };
        return options.ConfigureManager is { } configure ? configure(manager) : manager;
    }

    /// <summary>The built-in transport's options: the section's keys bound onto the library's defaults, the user and pins, then <see cref="RedundancyServiceOptions.ConfigureTransport"/>.</summary>
    /// <exception cref="InvalidOperationException">A key's value cannot be converted to its setting's type; the message names the key.</exception>
    public static MyAppsTransportOptions ToTransportOptions(RedundancyServiceOptions options, ILoggerFactory? loggerFactory, TimeProvider time)
    {
        var transport = Bind(options.Configuration, new MyAppsTransportOptions
        {
            Username = options.User ?? string.Empty,
            RemoteCertificateValidationCallback = CertificateThumbprints.CreateValidator(options.TrustedCertificateThumbprints),
            OnSignIn = SignInLogger(loggerFactory),
            SessionStore = SessionPath(options) is { } sessionPath
                ? new JsonFileMyAppsSessionStore(sessionPath, loggerFactory?.CreateLogger<JsonFileMyAppsSessionStore>())
                : null,
            TimeProvider = time,
            LoggerFactory = loggerFactory,
        });
        return options.ConfigureTransport is { } configure ? configure(transport) : transport;
    }

    /// <summary>
    /// A service has no screen: with <c>AllowSingleSignOn</c> the sign-in URL is logged (event 172, Warning) for a person to
    /// open, unless <see cref="RedundancyServiceOptions.ConfigureTransport"/> sets an <c>OnSignIn</c> of its own.
    /// </summary>
    private static Action<MyAppsSignIn> SignInLogger(ILoggerFactory? loggerFactory)
    {
        var logger = (ILogger?)loggerFactory?.CreateLogger<RedundancyHostedService>() ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        return signIn => HostingLog.SignInRequired(logger, signIn.Pbx, signIn.Url.AbsoluteUri);
    }

    /// <summary>
    /// Binds the section's keys onto <paramref name="settings"/>, a record made just now for this purpose (the binder
    /// sets its <c>init</c> properties); keys of other types are ignored.
    /// </summary>
    private static T Bind<T>(IConfiguration? configuration, T settings)
        where T : class
    {
        configuration?.Bind(settings);
        return settings;
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
