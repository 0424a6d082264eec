using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using FluentAssertions;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Docs;

/// <summary>
/// Each figures document says what is current once: one "## Current figures" section with one table, every row dated,
/// and a line naming the library defaults the figures were measured with, which must still be the defaults. A default
/// changed without measuring again fails here; older sections are history, headed by their date, never "latest".
/// </summary>
public sealed partial class CurrentFiguresDocsTests
{
    public static TheoryData<string> Documents => new() { "docs/performance.md", "docs/field-check.md" };

    [Theory]
    [MemberData(nameof(Documents))]
    public void Document_HasOneCurrentFiguresSectionWithOneDatedTable(string document)
    {
        var lines = Lines(document);
        lines.Count(l => l.StartsWith("## Current figures", StringComparison.Ordinal)).Should().Be(1, $"{document} has one current-figures section");

        var section = CurrentSection(lines);
        var tables = section.Where((l, i) => IsTableRow(l) && (i == 0 || !IsTableRow(section[i - 1]))).Count();
        tables.Should().Be(1, $"the current figures of {document} are one table");

        var rows = section.Where(IsTableRow).Skip(2).ToList();
        rows.Should().NotBeEmpty();
        rows.Where(r => !DateInRow().IsMatch(r)).Should().BeEmpty($"every current figure in {document} says when it was measured");
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void OtherHeadings_DoNotClaimToBeCurrent(string document)
    {
        var claims = Lines(document)
            .Where(l => l.StartsWith('#') && !l.StartsWith("## Current figures", StringComparison.Ordinal))
            .Where(l => l.Contains("latest", StringComparison.OrdinalIgnoreCase) || l.Contains("current figures", StringComparison.OrdinalIgnoreCase));

        claims.Should().BeEmpty($"only one section of {document} is current; older ones are history, headed by their date");
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void DefaultsLine_NamesTheLibrarysDefaults(string document)
    {
        var line = CurrentSection(Lines(document)).SingleOrDefault(l => l.StartsWith(DefaultsPrefix, StringComparison.Ordinal));
        line.Should().NotBeNull($"the current figures of {document} name the defaults they were measured with, on a line starting \"{DefaultsPrefix}\"");

        var named = ParseDefaults(line!);
        named.Should().ContainKeys("KeepAliveInterval", "KeepAliveTimeout", "ReconnectJitter");
        foreach (var (name, value) in named)
        {
            ActualDefault(name).Should().Be(value, $"{document} says the figures were measured with {name} {value}; measure again when a default changes");
        }
    }

    [Fact]
    public void DefaultsCheck_CatchesAStaleDefault()
    {
        // The check must be able to fail: the keepalive defaults of before 2026-12-05 are no longer the library's.
        var stale = ParseDefaults(DefaultsPrefix + " KeepAliveInterval 20 s, KeepAliveTimeout 10 s.");
        stale["KeepAliveInterval"].Should().NotBe(ActualDefault("KeepAliveInterval"));
        stale["KeepAliveTimeout"].Should().NotBe(ActualDefault("KeepAliveTimeout"));
    }

    private const string DefaultsPrefix = "Library defaults measured with:";

    private static Dictionary<string, TimeSpan> ParseDefaults(string line) =>
        DefaultItem().Matches(line[DefaultsPrefix.Length..]).ToDictionary(
            m => m.Groups["name"].Value,
            m =>
            {
                var value = double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
                return m.Groups["unit"].Value == "ms" ? TimeSpan.FromMilliseconds(value) : TimeSpan.FromSeconds(value);
            });

    /// <summary>The default of the option <paramref name="name"/> of <see cref="RedundancyOptions"/> or <see cref="MyAppsTransportOptions"/>.</summary>
    private static TimeSpan ActualDefault(string name)
    {
        object[] defaults =
        [
            new RedundancyOptions { Primary = PbxAddress.Parse("pbx.example.com/PBX0"), Transport = null! },
            new MyAppsTransportOptions(),
        ];
        foreach (var options in defaults)
        {
            if (options.GetType().GetProperty(name, BindingFlags.Public | BindingFlags.Instance) is { } property)
            {
                return property.GetValue(options) is TimeSpan value ? value : throw new InvalidOperationException($"{name} is not a TimeSpan option.");
            }
        }

        throw new InvalidOperationException($"No option {name} in RedundancyOptions or MyAppsTransportOptions.");
    }

    private static List<string> CurrentSection(List<string> lines)
    {
        var start = lines.FindIndex(l => l.StartsWith("## Current figures", StringComparison.Ordinal));
        var end = lines.FindIndex(start + 1, l => l.StartsWith("## ", StringComparison.Ordinal));
        return lines[(start + 1)..(end < 0 ? lines.Count : end)];
    }

    private static bool IsTableRow(string line) => line.StartsWith('|');

    private static List<string> Lines(string relativePath) =>
        [.. File.ReadAllText(Path.Combine(RepoPaths.Root, relativePath)).ReplaceLineEndings("\n").Split('\n').Select(l => l.TrimEnd())];

    [GeneratedRegex(@"\b20\d\d-\d\d-\d\d\b")]
    private static partial Regex DateInRow();

    [GeneratedRegex(@"(?<name>[A-Z][A-Za-z]+) (?<value>\d+(\.\d+)?) (?<unit>ms|s)\b")]
    private static partial Regex DefaultItem();
}
