using System.Reflection;
using System.Reflection.Emit;

namespace Innovaphone.Redundancy.Tests.Architecture;

/// <summary>
/// What a compiled type names: read from its metadata and the IL of its method bodies, not from the source text, so that
/// a helper it calls cannot hide a reference. Shared by <see cref="LayeringTests"/> and <see cref="Core.CorePurityTests"/>.
/// </summary>
internal static class TypeReferences
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>
    /// The full names of the types <paramref name="type"/> reaches, and of the methods it calls (<c>Owner.Method</c>):
    /// its base type, interfaces, fields, signatures and the members its method bodies name. Nested types are types of
    /// their own (ask for each).
    /// </summary>
    internal static HashSet<string> Reached(Type type)
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
}
