using FluentAssertions;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Docs;

/// <summary>
/// The README's quick start is the marked region of samples/Innovaphone.Redundancy.QuickStart, which CI builds (and
/// which runs against the loopback emulator), so the README cannot show code that does not compile.
/// </summary>
public sealed class ReadmeTests
{
    private const string StartMarker = "// <quickstart>";
    private const string EndMarker = "// </quickstart>";

    [Fact]
    public void QuickStart_IsTheMarkedRegionOfTheSample()
    {
        var region = SampleRegion();
        region.Should().NotBeEmpty().And.HaveCountLessThanOrEqualTo(10, "the quick start is at most 10 lines");

        QuickStartBlock().Should().Equal(region, "the README's quick start is the sample's marked region, line for line");
    }

    [Fact]
    public void GettingStarted_ShowsTheSamplesQuickStart()
    {
        var region = string.Join("\n", SampleRegion());
        var page = string.Join("\n", Lines(Path.Combine("docs", "getting-started.md")));

        page.Contains(region, StringComparison.Ordinal).Should().BeTrue("docs/getting-started.md's first program contains the sample's quick-start region, line for line");
    }

    private static List<string> SampleRegion()
    {
        var sample = Lines(Path.Combine("samples", "Innovaphone.Redundancy.QuickStart", "Program.cs"));
        var start = sample.FindIndex(l => l.Trim() == StartMarker);
        var end = sample.FindIndex(l => l.Trim() == EndMarker);
        start.Should().BeGreaterThan(-1, "the sample marks its quick start");
        end.Should().BeGreaterThan(start, "the quick-start region ends after it starts");
        return sample[(start + 1)..end];
    }

    /// <summary>The lines of the first <c>```csharp</c> block after the README's "## Quick start" heading.</summary>
    private static List<string> QuickStartBlock()
    {
        var readme = Lines("README.md");
        var heading = readme.FindIndex(l => l.Trim() == "## Quick start");
        heading.Should().BeGreaterThan(-1, "the README has a \"## Quick start\" section");
        var open = readme.FindIndex(heading, l => l.Trim() == "```csharp");
        open.Should().BeGreaterThan(heading, "the quick start has a csharp code block");
        var close = readme.FindIndex(open + 1, l => l.Trim() == "```");
        close.Should().BeGreaterThan(open, "the code block is closed");
        return readme[(open + 1)..close];
    }

    private static List<string> Lines(string relativePath) =>
        [.. File.ReadAllText(Path.Combine(RepoPaths.Root, relativePath)).ReplaceLineEndings("\n").Split('\n').Select(l => l.TrimEnd())];
}
