using FluentAssertions;
using Innovaphone.Redundancy.Tests.Packaging;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Samples;

/// <summary>
/// Every sample runs on a fresh machine without a real PBX and ends by itself: each is started from the solution's
/// build output (the same configuration as this test) with the arguments a reader would use, and must exit with the
/// documented code and print what it is for.
/// </summary>
[Trait("Category", "Samples")]
public sealed class SampleRunTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    [Theory]
    [InlineData("Demo", new string[0], 0, "\"up\":true")]
    [InlineData("Demo", new[] { "--in-memory" }, 0, "\"standby\":true")]
    [InlineData("QuickStart", new string[0], 0, "\"up\":true")]
    [InlineData("Softphone", new string[0], 0, "\"up\":true")]
    [InlineData("Service", new[] { "--run-for", "4" }, 0, "\"up\":true")]
    [InlineData("Soak", new[] { "--managers", "2", "--seconds", "2", "--seed", "3" }, 0, "stuck managers:       0")]
    public async Task Sample_Runs_AndEndsWithTheDocumentedExitCode(string sample, string[] arguments, int exitCode, string expected)
    {
        var dll = SampleDll(sample);
        File.Exists(dll).Should().BeTrue($"the solution build produces {dll} (build the solution before running the tests)");

        var result = await ChildProcess.RunDotnetAsync([dll, .. arguments], RepoPaths.Root, Limit, environment: null, TestContext.Current.CancellationToken);

        result.ExitCode.Should().Be(exitCode, result.ToString());
        result.Output.Should().Contain(expected, result.ToString());
    }

    private static string SampleDll(string sample)
    {
        // This test runs from tests/<project>/bin/<configuration>/<framework>/: the samples are built alike.
        var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = framework.Parent!.Name;
        var name = $"Innovaphone.Redundancy.{sample}";
        return Path.Combine(RepoPaths.Root, "samples", name, "bin", configuration, framework.Name, $"{name}.dll");
    }
}
