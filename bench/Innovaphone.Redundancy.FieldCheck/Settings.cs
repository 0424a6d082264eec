using System.Globalization;

namespace Innovaphone.Redundancy.FieldCheck;

/// <summary>The runner's command line.</summary>
internal sealed record Settings
{
    public const string Usage =
        "usage: fieldcheck --monitor \"<command line of the Monitor CLI>\" [--runtime LABEL] [--runs N] [--slow-runs N] " +
        "[--idle-seconds N] [--cases floor,chain,standby,coldwarm,frozen,blackhole,netchange,idle] [--timeout-seconds N] " +
        "[--slow-timeout-seconds N] [--artifacts DIR] [--monitor-env NAME=VALUE[,NAME=VALUE...]]";

    public static readonly string[] AllCases = ["chain", "standby", "coldwarm", "frozen", "blackhole", "netchange", "idle"];

    /// <summary>The Monitor's command line split at spaces, e.g. <c>dotnet path/Innovaphone.Redundancy.Monitor.dll</c>.</summary>
    public required IReadOnlyList<string> MonitorCommand { get; init; }

    /// <summary>The label of the runtime column; null: taken from the runtime the Monitor loaded.</summary>
    public string? Runtime { get; init; }

    /// <summary>Runs of each fast case (milliseconds expected).</summary>
    public int Runs { get; init; } = 5;

    /// <summary>Runs of each slow case (a silent failure, seconds expected).</summary>
    public int SlowRuns { get; init; } = 1;

    public int IdleSeconds { get; init; } = 70;

    /// <summary>The cases to run besides the floors, which always run: the fast targets are relative to them.</summary>
    public IReadOnlySet<string> Cases { get; init; } = new HashSet<string>(AllCases, StringComparer.Ordinal);

    /// <summary>The hard timeout of one run of a fast case.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The hard timeout of one run of a slow case: today's defaults detect a silent death in about 30 s.</summary>
    public TimeSpan SlowTimeout { get; init; } = TimeSpan.FromSeconds(90);

    public string Artifacts { get; init; } = Path.Combine("bench", "artifacts", "fieldcheck");

    /// <summary>
    /// Extra environment variables of every Monitor (for experiments such as <c>DOTNET_TieredPGO=0</c>); empty by
    /// default, so that the Monitor runs as users run it.
    /// </summary>
    public IReadOnlyDictionary<string, string> MonitorEnvironment { get; init; } = new Dictionary<string, string>();

    public static bool TryParse(IReadOnlyList<string> args, out Settings? settings, out string? error)
    {
        settings = null;
        error = null;
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Count)
            {
                error = $"'{args[i]}' is not an option with a value";
                return false;
            }

            values[args[i]] = args[++i];
        }

        if (!values.Remove("--monitor", out var monitor) || string.IsNullOrWhiteSpace(monitor))
        {
            error = "--monitor is required";
            return false;
        }

        var result = new Settings { MonitorCommand = monitor.Split(' ', StringSplitOptions.RemoveEmptyEntries) };
        foreach (var (name, value) in values)
        {
            switch (name)
            {
                case "--runtime": result = result with { Runtime = value }; break;
                case "--runs": result = result with { Runs = Positive(name, value, ref error) }; break;
                case "--slow-runs": result = result with { SlowRuns = Positive(name, value, ref error) }; break;
                case "--idle-seconds": result = result with { IdleSeconds = Positive(name, value, ref error) }; break;
                case "--timeout-seconds": result = result with { Timeout = TimeSpan.FromSeconds(Positive(name, value, ref error)) }; break;
                case "--slow-timeout-seconds": result = result with { SlowTimeout = TimeSpan.FromSeconds(Positive(name, value, ref error)) }; break;
                case "--artifacts": result = result with { Artifacts = value }; break;
                case "--monitor-env":
                    var environment = new Dictionary<string, string>(StringComparer.Ordinal);
                    foreach (var pair in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        var equals = pair.IndexOf('=', StringComparison.Ordinal);
                        if (equals <= 0)
                        {
                            error = $"--monitor-env '{pair}' is not NAME=VALUE";
                            break;
                        }

                        environment[pair[..equals]] = pair[(equals + 1)..];
                    }

                    result = result with { MonitorEnvironment = environment };
                    break;
                case "--cases":
                    var cases = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                        .Where(c => c != "floor").ToHashSet(StringComparer.Ordinal);
                    if (cases.FirstOrDefault(c => !AllCases.Contains(c)) is { } unknown)
                    {
                        error = $"unknown case '{unknown}'";
                    }

                    result = result with { Cases = cases };
                    break;
                default:
                    error = $"unknown option '{name}'";
                    break;
            }

            if (error is not null)
            {
                return false;
            }
        }

        settings = result;
        return true;
    }

    private static int Positive(string name, string value, ref string? error)
    {
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0)
        {
            return n;
        }

        error = $"{name} '{value}' is not a positive number";
        return 0;
    }
}
