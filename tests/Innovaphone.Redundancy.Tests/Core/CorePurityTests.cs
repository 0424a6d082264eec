using System.Reflection;
using System.Reflection.Emit;
using FluentAssertions;
using Innovaphone.Redundancy.Core;
using Innovaphone.Redundancy.Transport;
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
        typeof(IPbxConnection).FullName!, typeof(IPbxTransport).FullName!, "Innovaphone.Redundancy.Persistence.IRedundancyStore",
    ];

    // Members of allowed types that still read the clock, or hand out a login's live connection.
    private static readonly string[] ForbiddenMembers =
    [
        "System.DateTime.get_Now", "System.DateTime.get_UtcNow", "System.DateTimeOffset.get_Now", "System.DateTimeOffset.get_UtcNow",
        $"{typeof(LoggedIn).FullName}.get_{nameof(LoggedIn.Connection)}", $"{typeof(LoggedIn).FullName}.Deconstruct",
    ];

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    [Fact]
    public void CoreTypes_ReachNoIoClockRandomnessTasksThreadsRxPollyLoggingOrConnection()
    {
        var core = CoreTypes();
        core.Should().Contain([typeof(RedundancyMachine), typeof(MachineState), typeof(AttemptCompleted)]);
        Reached(typeof(RedundancyMachine)).Should().Contain(typeof(LoggedIn).FullName!, "the machine matches the transport's outcomes themselves");

        var violations = core
            .SelectMany(type => Reached(type).Select(reached => (type, reached)))
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
        Reached(typeof(RedundancyManager)).Where(Forbidden).Should().Contain(r => r.StartsWith("System.Threading", StringComparison.Ordinal))
            .And.Contain("System.TimeProvider")
            .And.Contain("Innovaphone.Redundancy.Transport.IPbxConnection");
        Reached(typeof(BodyCallsTheClock)).Should().Contain("System.DateTime.get_UtcNow", "a call in a method body counts");
        Reached(typeof(BodyTakesTheConnection)).Where(Forbidden).Should()
            .Contain($"{typeof(LoggedIn).FullName}.get_Connection", "reading a login's connection counts")
            .And.Contain(typeof(IPbxConnection).FullName!, "so does any member of the connection")
            .And.Contain($"{typeof(LoggedIn).FullName}.Deconstruct", "and deconstructing the login");
        Reached(typeof(BodyReadsTheLoginInfo)).Where(Forbidden).Should().BeEmpty("a login's info is data the machine may read");
    }

    private static List<Type> CoreTypes() =>
        [.. typeof(RedundancyMachine).Assembly.GetTypes().Where(t => t.Namespace == CoreNamespace)];

    private static bool Forbidden(string reached) =>
        ForbiddenMembers.Contains(reached)
        || ForbiddenTypes.Contains(reached)
        || ForbiddenNamespaces.Any(ns => reached.StartsWith(ns + ".", StringComparison.Ordinal));

    /// <summary>The full names of the types (and of clock-reading members) <paramref name="type"/> reaches.</summary>
    private static HashSet<string> Reached(Type type)
    {
        const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        var reached = new HashSet<string>(StringComparer.Ordinal);
        void Add(Type? t)
        {
            if (t is null)
            {
                return;
            }

            if (t.HasElementType)
            {
                Add(t.GetElementType());
                return;
            }

            if (t.IsGenericType)
            {
                foreach (var argument in t.GetGenericArguments())
                {
                    Add(argument);
                }

                t = t.GetGenericTypeDefinition();
            }

            if (!t.IsGenericParameter && t.FullName is { } name)
            {
                reached.Add(name);
            }
        }

        Add(type.BaseType);
        foreach (var implemented in type.GetInterfaces())
        {
            Add(implemented);
        }

        foreach (var field in type.GetFields(All))
        {
            Add(field.FieldType);
        }

        foreach (var method in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            if (method is MethodInfo info)
            {
                Add(info.ReturnType);
            }

            foreach (var parameter in method.GetParameters())
            {
                Add(parameter.ParameterType);
            }

            foreach (var member in BodyMembers(method))
            {
                Add(member as Type ?? member.DeclaringType);
                if (member is MethodBase called && called.DeclaringType?.FullName is { } owner)
                {
                    reached.Add($"{owner}.{called.Name}");
                    if (called is MethodInfo calledInfo)
                    {
                        Add(calledInfo.ReturnType);
                    }
                }
                else if (member is FieldInfo field)
                {
                    Add(field.FieldType);
                }
            }
        }

        return reached;
    }

    /// <summary>The methods, fields and types a method body names (call, newobj, ldfld, ldtoken, box, ...), read from its IL.</summary>
    private static IEnumerable<MemberInfo> BodyMembers(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            yield break;
        }

        var typeArguments = method.DeclaringType is { IsGenericType: true } declaring ? declaring.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var position = 0;
        while (position < il.Length)
        {
            short value = il[position++];
            if (value == 0xFE)
            {
                value = (short)(0xFE00 | il[position++]);
            }

            var opCode = OpCodesByValue[value];
            switch (opCode.OperandType)
            {
                case OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok:
                    var token = BitConverter.ToInt32(il, position);
                    position += 4;
                    var member = Resolve(method.Module, token, typeArguments, methodArguments);
                    if (member is not null)
                    {
                        yield return member;
                    }

                    break;
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    position += 1;
                    break;
                case OperandType.InlineVar:
                    position += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    position += 8;
                    break;
                case OperandType.InlineSwitch:
                    var targets = BitConverter.ToInt32(il, position);
                    position += 4 + (4 * targets);
                    break;
                default:
                    // InlineBrTarget, InlineI, InlineSig, InlineString, ShortInlineR: four bytes.
                    position += 4;
                    break;
            }
        }
    }

    private static MemberInfo? Resolve(Module module, int token, Type[]? typeArguments, Type[]? methodArguments)
    {
        try
        {
            return module.ResolveMember(token, typeArguments, methodArguments);
        }
        catch (ArgumentException)
        {
            // A member of an open generic that cannot be bound here; its declaring type is named by another token.
            return null;
        }
    }

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
