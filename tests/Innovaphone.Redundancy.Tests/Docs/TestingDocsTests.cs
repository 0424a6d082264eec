using FluentAssertions;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Docs;

/// <summary>
/// docs/testing.md shows the regions of TestingGuideExampleTests.cs marked <c>// &lt;name&gt;</c> ... <c>// &lt;/name&gt;</c>,
/// each as one code block, line for line; so the page shows code that compiles and passes.
/// </summary>
public sealed class TestingDocsTests
{
    [Theory]
    [InlineData("simulator")]
    [InlineData("backoff")]
    [InlineData("emulator")]
    [InlineData("signin")]
    public void Example_IsShownInTestingDocs(string region)
    {
        var source = Lines(Path.Combine("tests", "Innovaphone.Redundancy.IntegrationTests", "Docs", "TestingGuideExampleTests.cs"));
        var start = source.FindIndex(l => l.Trim() == $"// <{region}>");
        var end = source.FindIndex(l => l.Trim() == $"// </{region}>");
        start.Should().BeGreaterThan(-1, $"TestingGuideExampleTests.cs marks the region {region}");
        end.Should().BeGreaterThan(start + 1, $"the region {region} ends after it starts and is not empty");
        var example = Dedent(source[(start + 1)..end]);

        var doc = string.Join("\n", Lines(Path.Combine("docs", "testing.md")));

        var block = "```csharp\n" + string.Join("\n", example) + "\n```";

        // A bool, not Contain: the failure message names the region instead of printing the whole page.
        doc.Contains(block, StringComparison.Ordinal).Should().BeTrue($"docs/testing.md shows the example {region} as it is in TestingGuideExampleTests.cs, as one csharp block");
    }

    private static List<string> Dedent(List<string> lines)
    {
        var indent = lines.Where(l => l.Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return [.. lines.Select(l => l.Length >= indent ? l[indent..] : l)];
    }

    private static List<string> Lines(string relativePath) =>
        [.. File.ReadAllText(Path.Combine(RepoPaths.Root, relativePath)).ReplaceLineEndings("\n").Split('\n').Select(l => l.TrimEnd())];
}
