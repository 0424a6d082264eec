using System.Text.RegularExpressions;
using FluentAssertions;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Core;

/// <summary>The machine stays pure: its source files name no I/O, clock, randomness, task, Rx or logging.</summary>
public sealed partial class CorePurityTests
{
    [Fact]
    public void CoreSources_UseNoIoClockRandomnessTasksRxOrLogging()
    {
        var core = Path.Combine(RepoPaths.Root, "src", "Innovaphone.Redundancy", "Core");
        var files = Directory.GetFiles(core, "*.cs");
        files.Should().NotBeEmpty();

        foreach (var file in files)
        {
            var code = string.Join('\n', File.ReadAllLines(file).Where(l => !l.TrimStart().StartsWith("//", StringComparison.Ordinal)));
            Forbidden().Matches(code).Select(m => m.Value).Should().BeEmpty($"{Path.GetFileName(file)} belongs to the pure core");
        }
    }

    [GeneratedRegex(@"\b(TimeProvider|DateTime\.|DateTimeOffset\.(Utc)?Now|Task|ValueTask|Random|ILogger|Polly|System\.IO|System\.Net|System\.Reactive|Thread|Timer|Console|async|await|lock)\b")]
    private static partial Regex Forbidden();
}
