using Innovaphone.Redundancy;
using Innovaphone.Redundancy.Hosting;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the innovaphone PBX redundancy manager and runs it as a hosted service.</summary>
public static class RedundancyServiceCollectionExtensions
{
    /// <summary>
    /// Registers a <see cref="RedundancyManager"/> singleton configured from <paramref name="configuration"/> (usually
    /// <c>builder.Configuration.GetSection(RedundancyServiceOptions.DefaultSectionName)</c>) and a hosted service that
    /// starts it with the host and stops it on shutdown; the container disposes it.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section whose keys are the properties of <see cref="RedundancyServiceOptions"/>.</param>
    /// <param name="configure">Adjusts the options after binding, for example to set <see cref="RedundancyServiceOptions.ConfigureTransport"/>. Optional.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <remarks>
    /// <para>The settings are validated when the host starts; a bad value fails the start with an
    /// <see cref="OptionsValidationException"/> naming its configuration key.</para>
    /// <para>The manager uses the container's <see cref="Logging.ILoggerFactory"/> and <see cref="TimeProvider"/>
    /// (<see cref="TimeProvider.System"/> when none is registered). It connects with the <see cref="IPbxTransport"/>
    /// registered in the container, or else with a <see cref="MyAppsWebSocketTransport"/> singleton made from the options;
    /// it keeps its state in the registered <see cref="Innovaphone.Redundancy.IRedundancyStore"/>, or else in
    /// a file (<see cref="RedundancyServiceOptions.StateFile"/>, by default one per primary and user in the per-user data
    /// folder), or in memory when <see cref="RedundancyServiceOptions.PersistState"/> is off. Call this once per container.</para>
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configuration"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The redundancy manager is already registered in <paramref name="services"/>.</exception>
    public static IServiceCollection AddInnovaphoneRedundancy(
        this IServiceCollection services,
        IConfiguration configuration,
        Action<RedundancyServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ThrowIfRegistered(services);
        // The section's keys are bound onto this class and, when the manager and transport are made, onto the library's own
        // options types (RedundancyServiceFactory), so that every setting is defined once.
        var builder = services.AddOptions<RedundancyServiceOptions>().Bind(configuration).Configure(o => o.Configuration = configuration);
        if (configure is not null)
        {
            builder.Configure(configure);
        }

        return AddCore(services, builder, configuration is IConfigurationSection section ? section.Path : string.Empty);
    }

    /// <summary>
    /// Registers a <see cref="RedundancyManager"/> singleton configured in code and a hosted service that starts it
    /// with the host and stops it on shutdown; the container disposes it. See
    /// <see cref="AddInnovaphoneRedundancy(IServiceCollection, IConfiguration, Action{RedundancyServiceOptions})"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> or <paramref name="configure"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The redundancy manager is already registered in <paramref name="services"/>.</exception>
    public static IServiceCollection AddInnovaphoneRedundancy(this IServiceCollection services, Action<RedundancyServiceOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        ThrowIfRegistered(services);
        return AddCore(services, services.AddOptions<RedundancyServiceOptions>().Configure(configure), sectionPath: null);
    }

    /// <summary>
    /// One manager per container: a second registration would merge two sets of settings into that one manager (and
    /// its validation messages would name only the first section), which is never what the caller meant.
    /// </summary>
    private static void ThrowIfRegistered(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(Registered)))
        {
            throw new InvalidOperationException(
                "AddInnovaphoneRedundancy was already called on this service collection; a container holds one RedundancyManager. " +
                "Call it once, and adjust its settings with services.Configure<RedundancyServiceOptions>(...) or services.PostConfigure<RedundancyServiceOptions>(...).");
        }
    }

    private static IServiceCollection AddCore(IServiceCollection services, OptionsBuilder<RedundancyServiceOptions> builder, string? sectionPath)
    {
        services.AddSingleton<Registered>();
        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedundancyServiceOptions>, RedundancyServiceOptionsValidator>(provider =>
        {
            var isService = provider.GetService<IServiceProviderIsService>();
            return new RedundancyServiceOptionsValidator(
                sectionPath,
                () => isService?.IsService(typeof(IPbxTransport)) ?? false,
                () => isService?.IsService(typeof(Innovaphone.Redundancy.IRedundancyStore)) ?? false);
        }));
        services.TryAddSingleton(RedundancyServiceFactory.CreateTransport);
        services.TryAddSingleton(RedundancyServiceFactory.CreateManager);
        services.AddHostedService<RedundancyHostedService>();
        return services;
    }

    /// <summary>Marks a service collection in which the manager is registered.</summary>
    private sealed class Registered;
}
