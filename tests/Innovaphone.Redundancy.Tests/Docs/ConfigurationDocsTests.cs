using System.Reflection;
using System.Text.RegularExpressions;
using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Docs;

/// <summary>
/// docs/configuration.md has one table per options class, under a heading naming the class; every public settable
/// option has a row there, and every row is still an option.
/// </summary>
public sealed partial class ConfigurationDocsTests
{
    [Theory]
    [InlineData(typeof(RedundancyOptions))]
    [InlineData(typeof(MyAppsTransportOptions))]
    [InlineData(typeof(PbxEmulatorOptions))]
    [InlineData(typeof(SimulatedLoginMethods))]
    public void EveryOption_IsDocumented(Type optionsType)
    {
        var documented = DocumentedOptions(optionsType);

        Options(optionsType).Should().BeSubsetOf(documented, $"every option of {optionsType.Name} needs a row in docs/configuration.md");
    }

    [Theory]
    [InlineData(typeof(RedundancyOptions))]
    [InlineData(typeof(MyAppsTransportOptions))]
    [InlineData(typeof(PbxEmulatorOptions))]
    [InlineData(typeof(SimulatedLoginMethods))]
    public void EveryDocumentedOption_StillExists(Type optionsType)
    {
        var documented = DocumentedOptions(optionsType);

        documented.Should().NotBeEmpty($"docs/configuration.md has a table for {optionsType.Name}");
        documented.Should().OnlyHaveUniqueItems($"each option of {optionsType.Name} is documented once");
        documented.Should().BeSubsetOf(Options(optionsType), $"docs/configuration.md documents only options {optionsType.Name} has");
    }

    /// <summary>The public instance properties with a public setter or init accessor.</summary>
    private static List<string> Options(Type optionsType) =>
        [.. optionsType.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.SetMethod is { IsPublic: true })
            .Select(p => p.Name)];

    /// <summary>The option names of the table rows in the section headed <c>## `TypeName`</c>, up to the next heading.</summary>
    private static List<string> DocumentedOptions(Type optionsType)
    {
        var text = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "configuration.md")).ReplaceLineEndings("\n");
        var heading = $"\n## `{optionsType.Name}`";
        var start = text.IndexOf(heading, StringComparison.Ordinal);
        start.Should().BeGreaterThan(-1, $"docs/configuration.md has a section headed ## `{optionsType.Name}`");
        var end = text.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
        var section = end < 0 ? text[start..] : text[start..end];
        return [.. Row().Matches(section).Select(m => m.Groups["name"].Value)];
    }

    [GeneratedRegex(@"^\| `(?<name>[A-Za-z][A-Za-z0-9]*)` \|", RegexOptions.Multiline)]
    private static partial Regex Row();
}
