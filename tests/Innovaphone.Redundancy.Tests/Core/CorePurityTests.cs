using FluentAssertions;
using Innovaphone.Redundancy.Core;
using Innovaphone.Redundancy.Tests.Architecture;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Core;

/// <summary>
/// The machine stays pure: no type of the core namespace touches I/O, a clock, randomness, tasks, threads, Rx, Polly,
/// logging or a live connection. Checked on the compiled code, not the source text: every type a core type's fields,
/// properties, signatures, base types and method bodies (IL) name, so that a helper called from the machine cannot hide one.
/// The transport's outcome records are data and allowed (the machine matches <see cref="LoggedIn"/> and reads its
/// <see cref="LoggedIn.Info"/>), but not the connection a login carries.
/// </summary>
public sealed class CorePurityTests
{
    private const string CoreNamespace = "Innovaphone.Redundancy.Core";

    // Namespaces (and their children) that no core type may reach.
    private static readonly string[] ForbiddenNamespaces =
    [
        "System.IO", "System.Net", "System.Threading", "System.Timers", "System.Reactive", "System.Diagnostics.Metrics",
        "Microsoft.Extensions.Logging", "Polly", "System.Security.Cryptography",
    ];

    // Single types that no core type may reach: clocks, randomness, consoles, live objects of the transport.
    private static readonly string[] ForbiddenTypes =
    [
        "System.TimeProvider", "System.Random", "System.Console", "System.Environment", "System.GC",
        "System.Diagnostics.Stopwatch", "System.Diagnostics.Activity", "System.Diagnostics.Process",
        typeof(IPbxConnection).FullName!, typeof(IPbxTransport).FullName!, typeof(IRedundancyStore).FullName!,
    ];

    // Members of allowed types that still read the clock, or hand out a login's live connection.
    private static readonly string[] ForbiddenMembers =
    [
        "System.DateTime.get_Now", "System.DateTime.get_UtcNow", "System.DateTimeOffset.get_Now", "System.DateTimeOffset.get_UtcNow",
        $"{typeof(LoggedIn).FullName}.get_{nameof(LoggedIn.Connection)}", $"{typeof(LoggedIn).FullName}.Deconstruct",
    ];

    [Fact]
    public void CoreTypes_ReachNoIoClockRandomnessTasksThreadsRxPollyLoggingOrConnection()
    {
        var core = CoreTypes();
        core.Should().Contain([typeof(RedundancyMachine), typeof(MachineState), typeof(AttemptCompleted)]);
        TypeReferences.Reached(typeof(RedundancyMachine)).Should().Contain(typeof(LoggedIn).FullName!, "the machine matches the transport's outcomes themselves");

        var violations = core
            .SelectMany(type => TypeReferences.Reached(type).Select(reached => (type, reached)))
            .Where(pair => Forbidden(pair.reached))
            .Select(pair => $"{pair.type.Name} -> {pair.reached}")
            .Distinct()
            .ToList();

        violations.Should().BeEmpty("the core decides from its inputs alone; the shell does the rest");
    }

    [Fact]
    public void TheCheck_FindsWhatItForbids()
    {
        // The check must be able to fail: the manager (the shell) reaches tasks, the clock and live connections.
        TypeReferences.Reached(typeof(RedundancyManager)).Where(Forbidden).Should().Contain(r => r.StartsWith("System.Threading", StringComparison.Ordinal))
            .And.Contain("System.TimeProvider")
            .And.Contain(typeof(IPbxConnection).FullName!);
        TypeReferences.Reached(typeof(BodyCallsTheClock)).Should().Contain("System.DateTime.get_UtcNow", "a call in a method body counts");
        TypeReferences.Reached(typeof(BodyTakesTheConnection)).Where(Forbidden).Should()
            .Contain($"{typeof(LoggedIn).FullName}.get_Connection", "reading a login's connection counts")
            .And.Contain(typeof(IPbxConnection).FullName!, "so does any member of the connection")
            .And.Contain($"{typeof(LoggedIn).FullName}.Deconstruct", "and deconstructing the login");
        TypeReferences.Reached(typeof(BodyReadsTheLoginInfo)).Where(Forbidden).Should().BeEmpty("a login's info is data the machine may read");
    }

    private static List<Type> CoreTypes() =>
        [.. typeof(RedundancyMachine).Assembly.GetTypes().Where(t => t.Namespace == CoreNamespace)];

    private static bool Forbidden(string reached) =>
        ForbiddenMembers.Contains(reached)
        || ForbiddenTypes.Contains(reached)
        || ForbiddenNamespaces.Any(ns => reached.StartsWith(ns + ".", StringComparison.Ordinal));

    private static class BodyCallsTheClock
    {
        public static long Ticks() => DateTime.UtcNow.Ticks;
    }

    private static class BodyTakesTheConnection
    {
        public static ValueTask Close(LoggedIn login) => login.Connection.DisposeAsync();

        public static object Take(LoginOutcome outcome) => outcome is LoggedIn(var connection, _) ? connection : outcome;
    }

    private static class BodyReadsTheLoginInfo
    {
        public static PbxLoginInfo? Info(LoginOutcome outcome) => outcome is LoggedIn login ? login.Info : null;
    }
}
