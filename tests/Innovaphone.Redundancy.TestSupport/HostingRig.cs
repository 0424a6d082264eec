using Innovaphone.Redundancy.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit;

namespace Innovaphone.Redundancy.TestSupport;

/// <summary>
/// Builds a generic host with nothing but the given configuration (no environment variables, files or command line,
/// so that the machine cannot change a test), fake logging at Trace, and the redundancy registration.
/// </summary>
internal static class HostingRig
{
    public const string Section = RedundancyServiceOptions.DefaultSectionName;

    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    public static IHost Build(IDictionary<string, string?> settings, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(Hermetic(settings));
        builder.Logging.AddFakeLogging().SetMinimumLevel(LogLevel.Trace);
        services?.Invoke(builder.Services);
        builder.Services.AddInnovaphoneRedundancy(builder.Configuration.GetSection(Section));
        return builder.Build();
    }

    /// <summary>
    /// Keeps state in memory unless a test speaks of persistence: by default the service writes a file to the user's data
    /// folder, which would let tests (and runs) see each other's records.
    /// </summary>
    private static IDictionary<string, string?> Hermetic(IDictionary<string, string?> settings)
    {
        string[] persistence = [$"{Section}:PersistState", $"{Section}:StateFile", $"{Section}:StateDirectory"];
        return persistence.Any(settings.ContainsKey)
            ? settings
            : new Dictionary<string, string?>(settings) { [$"{Section}:PersistState"] = "false" };
    }

    /// <summary>Settings under <see cref="Section"/>.</summary>
    public static Dictionary<string, string?> Settings(params (string Key, string? Value)[] values) =>
        values.ToDictionary(v => $"{Section}:{v.Key}", v => v.Value);

    public static IReadOnlyList<FakeLogRecord> Logs(this IHost host) => host.Services.GetFakeLogCollector().GetSnapshot();

    /// <summary>Waits for a connInfo that satisfies <paramref name="condition"/> (the current one counts), bounded by a guard.</summary>
    public static async Task<ConnInfo> WaitForAsync(this RedundancyManager manager, Func<ConnInfo, bool> condition)
    {
        var reached = new TaskCompletionSource<ConnInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = manager.ConnInfoChanges.Subscribe(info =>
        {
            if (condition(info))
            {
                reached.TrySetResult(info);
            }
        });
        try
        {
            return await reached.Task.WaitAsync(Guard, TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No matching connInfo within {Guard}; last {manager.ConnInfo}, state {manager.State}.");
        }
    }

    /// <summary>Waits for a state change to <paramref name="state"/>, bounded by a guard.</summary>
    public static async Task<RedundancyStateChange> WaitForStateAsync(this RedundancyManager manager, RedundancyState state)
    {
        var reached = new TaskCompletionSource<RedundancyStateChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = manager.StateChanges.Subscribe(change =>
        {
            if (change.Current == state)
            {
                reached.TrySetResult(change);
            }
        });
        return await reached.Task.WaitAsync(Guard, TestContext.Current.CancellationToken);
    }
}
