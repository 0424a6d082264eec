using System.Reflection;
using System.Text.RegularExpressions;
using FluentAssertions;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Architecture;

/// <summary>
/// The library's dependencies point one way (docs/concepts.md, "Layers"): each layer, named by its namespace, reaches
/// only the layers its rule allows. Checked on the compiled assembly: every type that a type's base types, fields,
/// signatures and method bodies (IL) name, nested and compiler-generated types counted with the type they sit in.
/// </summary>
public sealed class LayeringTests
{
    /// <summary>The types of the root namespace that are the manager (its files are in Manager/), not vocabulary.</summary>
    private static readonly string[] ManagerTypes =
    [
        "Innovaphone.Redundancy.RedundancyManager", "Innovaphone.Redundancy.Log", "Innovaphone.Redundancy.ManagerMetrics",
        "Innovaphone.Redundancy.NoteLog",
    ];

    /// <summary>The layers each layer may reach besides itself; docs/concepts.md shows the same table.</summary>
    private static readonly Dictionary<Layer, Layer[]> Allowed = new()
    {
        [Layer.Vocabulary] = [],
        [Layer.Shared] = [Layer.Vocabulary],
        [Layer.Core] = [Layer.Vocabulary],
        [Layer.Shell] = [Layer.Vocabulary, Layer.Core],
        [Layer.Persistence] = [Layer.Vocabulary],
        [Layer.Manager] = [Layer.Vocabulary, Layer.Shared, Layer.Core, Layer.Shell, Layer.Persistence, Layer.Transport],
        [Layer.Transport] = [Layer.Vocabulary],
        [Layer.WebSockets] = [Layer.Vocabulary, Layer.Shared, Layer.Persistence],
        [Layer.Softphone] = [Layer.Vocabulary],
    };

    public enum Layer
    {
        /// <summary>The root namespace: options, states, addresses, the transport and store ports, without the manager.</summary>
        Vocabulary,

        /// <summary>
        /// What the manager and the transport adapters both use: <c>Innovaphone.Redundancy.Shared</c> (background work) and
        /// <see cref="RedundancyTelemetry"/> (the names of metrics and spans, public, so it stays in the root namespace).
        /// </summary>
        Shared,

        /// <summary><c>Innovaphone.Redundancy.Core</c>: the pure machine.</summary>
        Core,

        /// <summary><c>Innovaphone.Redundancy.Shell</c>: what the manager uses to carry out the machine's commands.</summary>
        Shell,

        /// <summary><c>Innovaphone.Redundancy.Persistence</c>: the store adapters and the state files.</summary>
        Persistence,

        /// <summary>The manager's types in the root namespace (<see cref="ManagerTypes"/>).</summary>
        Manager,

        /// <summary><c>Innovaphone.Redundancy.Transport</c>: the platform's network changes.</summary>
        Transport,

        /// <summary><c>Innovaphone.Redundancy.Transport.WebSockets</c>: the myApps transport.</summary>
        WebSockets,

        /// <summary><c>Innovaphone.Redundancy.Softphone</c>: the softphone registration, fed by connInfo.</summary>
        Softphone,
    }

    private static Assembly Library => typeof(RedundancyManager).Assembly;

    [Fact]
    public void EveryType_ReachesOnlyTheLayersItsLayerMayUse()
    {
        Violations(Library.GetTypes(), Allowed, LayerOf).Should().BeEmpty("dependencies point one way (docs/concepts.md, Layers)");
    }

    [Fact]
    public void EveryTypeOfTheLibrary_HasALayer_AndEveryLayerHasTypes()
    {
        var ours = Library.GetTypes().Where(t => t.Namespace is { } ns && (ns == "Innovaphone.Redundancy" || ns.StartsWith("Innovaphone.Redundancy.", StringComparison.Ordinal))).ToList();

        ours.Where(t => LayerOf(t) is null).Select(t => t.FullName).Should().BeEmpty("a new namespace gets a layer and a rule here and in docs/concepts.md");
        ours.Select(LayerOf).Distinct().Should().BeEquivalentTo(Enum.GetValues<Layer>().Select(l => (Layer?)l));
        ManagerTypes.Where(name => Library.GetType(name) is null).Should().BeEmpty("the manager's list names types that exist");
    }

    [Fact]
    public void TheCheck_FindsAReversedRule_AndAFixtureThatBreaksTheRules()
    {
        // With the rule reversed (the myApps transport may not use the port it implements), the check fails.
        var reversed = new Dictionary<Layer, Layer[]>(Allowed) { [Layer.WebSockets] = [] };
        Violations(Library.GetTypes(), reversed, LayerOf)
            .Should().Contain("Innovaphone.Redundancy.Transport.WebSockets.MyAppsWebSocketTransport -> Innovaphone.Redundancy.IPbxTransport");

        // A type placed in the core that names the manager and the transport only inside method bodies is caught.
        Violations([typeof(CoreFixture)], Allowed, _ => Layer.Core).Should().Equal(
            $"{typeof(CoreFixture).FullName} -> Innovaphone.Redundancy.RedundancyManager",
            $"{typeof(CoreFixture).FullName} -> Innovaphone.Redundancy.Transport.WebSockets.MyAppsWebSocketTransport");
    }

    [Fact]
    public void ConceptsLayersTable_SaysTheSameRules()
    {
        // docs/concepts.md, Layers: one row per layer, its name first and the layers it may use last.
        var text = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "concepts.md")).ReplaceLineEndings("\n");
        var rows = text.Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.StartsWith("| ", StringComparison.Ordinal))
            .Select(line => line.Trim('|').Split(" | ").Select(cell => cell.Trim()).ToArray())
            .Where(cells => cells.Length == 4 && Enum.TryParse<Layer>(cells[0], ignoreCase: true, out _))
            .ToDictionary(cells => Enum.Parse<Layer>(cells[0], ignoreCase: true), cells => MayUse(cells[3]));

        rows.Keys.Should().BeEquivalentTo(Enum.GetValues<Layer>(), "docs/concepts.md has a row for each layer");
        foreach (var (layer, allowed) in Allowed)
        {
            rows[layer].Should().BeEquivalentTo(allowed, $"docs/concepts.md says what {layer} may use as the test does");
        }

        // "shell, transport (the platform's network changes), vocabulary" -> the layers named; "nothing of the library" -> none.
        static Layer[] MayUse(string cell) =>
        [
            .. Regex.Replace(cell, @"\([^)]*\)", string.Empty)
                .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Where(name => name != "nothing of the library")
                .Select(name => Enum.Parse<Layer>(name, ignoreCase: true)),
        ];
    }

    /// <summary>The layer of a type of the library (a nested type has the layer of the type it sits in); null when not ours.</summary>
    private static Layer? LayerOf(Type type)
    {
        while (type.DeclaringType is { } outer)
        {
            type = outer;
        }

        return type.Namespace switch
        {
            "Innovaphone.Redundancy" when ManagerTypes.Contains(type.FullName) => Layer.Manager,
            "Innovaphone.Redundancy" when type == typeof(RedundancyTelemetry) => Layer.Shared,
            "Innovaphone.Redundancy.Shared" => Layer.Shared,
            "Innovaphone.Redundancy" => Layer.Vocabulary,
            "Innovaphone.Redundancy.Core" => Layer.Core,
            "Innovaphone.Redundancy.Shell" => Layer.Shell,
            "Innovaphone.Redundancy.Persistence" => Layer.Persistence,
            "Innovaphone.Redundancy.Transport" => Layer.Transport,
            "Innovaphone.Redundancy.Transport.WebSockets" => Layer.WebSockets,
            "Innovaphone.Redundancy.Softphone" => Layer.Softphone,
            _ => null,
        };
    }

    /// <summary>Each reference from a type of <paramref name="types"/> to a library type of a layer its rule does not allow.</summary>
    private static List<string> Violations(IEnumerable<Type> types, Dictionary<Layer, Layer[]> allowed, Func<Type, Layer?> layerOf)
    {
        var violations = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var type in types)
        {
            if (layerOf(type) is not { } from)
            {
                continue;
            }

            foreach (var name in TypeReferences.Reached(type))
            {
                if (Library.GetType(name) is { } target && LayerOf(target) is { } to && to != from && !allowed[from].Contains(to))
                {
                    violations.Add($"{type.FullName} -> {target.FullName}");
                }
            }
        }

        return [.. violations];
    }

    /// <summary>Breaks the core's rule twice, each only inside a method body (an <c>isinst</c> and a <c>ldtoken</c>).</summary>
    private static class CoreFixture
    {
        public static bool IsManager(object value) => value is RedundancyManager;

        public static Type Transport() => typeof(Redundancy.Transport.WebSockets.MyAppsWebSocketTransport);
    }
}
