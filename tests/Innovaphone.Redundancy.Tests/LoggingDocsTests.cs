using System.Reflection;
using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Innovaphone.Redundancy.Tests;

/// <summary>docs/logging.md is the public contract of the log event ids: every event the library logs is listed there with its level and its fields.</summary>
public sealed partial class LoggingDocsTests
{
    [Fact]
    public void EveryLogEvent_IsDocumentedWithItsLevel()
    {
        var documented = Row().Matches(File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "logging.md")))
            .ToDictionary(m => int.Parse(m.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture), m => m.Groups["level"].Value);
        var events = Events().ToList();

        events.Should().HaveCountGreaterThan(40, "the library logs its connection flow");
        events.Select(e => e.EventId).Should().OnlyHaveUniqueItems();
        foreach (var e in events)
        {
            documented.Should().ContainKey(e.EventId, $"event {e.EventId} ({e.Message}) must be listed in docs/logging.md");
            documented[e.EventId].Should().Be(e.Level.ToString(), $"the level of event {e.EventId} in docs/logging.md");
        }

        documented.Keys.Should().BeSubsetOf(events.Select(e => e.EventId), "docs/logging.md lists no event the library does not log");
    }

    [Fact]
    public void EveryLogEvent_ListsTheFieldsOfItsTemplate()
    {
        // The last cell of an event's row lists its fields (the placeholders of its template), or a dash for none.
        var documented = FieldsRow().Matches(File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "logging.md")))
            .ToDictionary(
                m => int.Parse(m.Groups["id"].Value, System.Globalization.CultureInfo.InvariantCulture),
                m => FieldName().Matches(m.Groups["fields"].Value).Select(f => f.Groups["name"].Value).ToList());
        var events = Events().ToList();

        foreach (var e in events)
        {
            var placeholders = Placeholder().Matches(e.Message).Select(p => p.Groups["name"].Value).Distinct(StringComparer.Ordinal).ToList();
            documented.Should().ContainKey(e.EventId, $"event {e.EventId} needs a fields cell in docs/logging.md");
            documented[e.EventId].Should().BeEquivalentTo(placeholders, $"the fields of event {e.EventId} ({e.Message}) in docs/logging.md");
        }
    }

    private static IEnumerable<LoggerMessageAttribute> Events() =>
        new[] { typeof(RedundancyManager).Assembly, typeof(Innovaphone.Redundancy.Hosting.RedundancyServiceOptions).Assembly }
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>();

    [GeneratedRegex(@"^\| (?<id>\d{3}) \| (?<level>[A-Za-z]+) \|", RegexOptions.Multiline)]
    private static partial Regex Row();

    [GeneratedRegex(@"^\| (?<id>\d{3}) \| [A-Za-z]+ \|.*\|(?<fields>[^|\n]*)\|[ \t]*\r?$", RegexOptions.Multiline)]
    private static partial Regex FieldsRow();

    [GeneratedRegex(@"`(?<name>[A-Za-z]+)`")]
    private static partial Regex FieldName();

    // {Name}, {Name:format} or {Name,alignment}; "{{" is a literal brace.
    [GeneratedRegex(@"(?<!\{)\{(?<name>[A-Za-z][A-Za-z0-9]*)(?:[:,][^}]*)?\}")]
    private static partial Regex Placeholder();
}
