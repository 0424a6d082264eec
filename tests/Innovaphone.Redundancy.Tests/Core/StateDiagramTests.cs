using System.Text.RegularExpressions;
using CsCheck;
using FluentAssertions;
using Innovaphone.Redundancy.Core;
using Innovaphone.Redundancy.Tests.Properties;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Core;

/// <summary>
/// The Mermaid state diagram in docs/concepts.md is checked against the machine: every transition the machine makes
/// over random histories is drawn, and every drawn transition is one the machine makes.
/// </summary>
public sealed partial class StateDiagramTests
{
    private const int Histories = 3_000;

    [Fact]
    public void ConceptsDiagram_DrawsExactlyTheTransitionsTheMachineMakes()
    {
        var drawn = DrawnTransitions();
        var made = new HashSet<(RedundancyState From, RedundancyState To)>();
        Gen.Int[0, 999].Array[1, 80].Sample(history => Walk(history, made), iter: Histories, threads: 1);

        drawn.Should().NotBeEmpty("docs/concepts.md has a stateDiagram-v2 block");
        made.Except(drawn).Should().BeEmpty("every transition the machine makes must be drawn in docs/concepts.md");
        drawn.Except(made).Should().BeEmpty("every transition drawn in docs/concepts.md must be one the machine makes");
    }

    private static void Walk(int[] history, HashSet<(RedundancyState, RedundancyState)> made)
    {
        var state = MachineState.Initial;
        var issued = new List<long>();
        foreach (var choice in history)
        {
            var @event = MachinePropertyTests.PickEvent(state, choice, issued);
            var from = state.Phase;
            (state, var commands) = RedundancyMachine.Decide(MachinePropertyTests.Config, state, @event);
            var connected = false;
            foreach (var connect in commands.OfType<Connect>())
            {
                issued.Add(connect.AttemptId);
                connected = true;
            }

            // A change of state, or a state kept while a new attempt starts (next candidate, next redirect hop).
            if (from != state.Phase || connected)
            {
                made.Add((from, state.Phase));
            }
        }
    }

    private static HashSet<(RedundancyState, RedundancyState)> DrawnTransitions()
    {
        var text = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "concepts.md"));
        var block = Diagram().Match(text).Groups["body"].Value;
        return [.. Edge().Matches(block).Select(m => (Enum.Parse<RedundancyState>(m.Groups["from"].Value), Enum.Parse<RedundancyState>(m.Groups["to"].Value)))];
    }

    [GeneratedRegex(@"```mermaid\s*\nstateDiagram-v2\n(?<body>.*?)```", RegexOptions.Singleline)]
    private static partial Regex Diagram();

    [GeneratedRegex(@"^\s*(?<from>[A-Za-z]+) --> (?<to>[A-Za-z]+)", RegexOptions.Multiline)]
    private static partial Regex Edge();
}
