using System.Runtime.CompilerServices;

namespace Innovaphone.Redundancy.Core;

/// <summary>
/// The slots one transition writes: the caller's state, changed field by field, and the caller's commands, appended in
/// place. A ref struct of two references, so that handing it from handler to handler copies nothing.
/// </summary>
internal ref struct Decision
{
    /// <summary>The state being changed into the next one.</summary>
    public ref MachineState State;

    /// <summary>What the shell is to do, in order.</summary>
    public ref MachineCommands Commands;

    public Decision(ref MachineState state, ref MachineCommands commands)
    {
        State = ref state;
        Commands = ref commands;
    }

    /// <summary>Marks the Connect and StartStagger commands from slot <paramref name="from"/> on as spread (<see cref="MachineCommand.Spread"/>).</summary>
    public readonly void Spread(int from)
    {
        for (var i = from; i < Commands.Count; i++)
        {
            ref readonly var command = ref Commands[i];
            if (command.Kind is MachineCommandKind.Connect or MachineCommandKind.StartStagger)
            {
                Set(i, command with { Spread = true });
            }
        }
    }

    private readonly void Set(int index, in MachineCommand command)
    {
        switch (index)
        {
            case 0: Commands.First = command; break;
            case 1: Commands.Second = command; break;
            case 2: Commands.Third = command; break;
            case 3: Commands.Fourth = command; break;
            case 4: Commands.Fifth = command; break;
            default: Commands.Sixth = command; break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void Add(in MachineCommand command)
    {
        switch (Commands.Count)
        {
            case 0:
                Commands.First = command;
                break;
            case 1:
                Commands.Second = command;
                break;
            case 2:
                Commands.Third = command;
                break;
            case 3:
                Commands.Fourth = command;
                break;
            case 4:
                Commands.Fifth = command;
                break;
            case 5:
                Commands.Sixth = command;
                break;
            default:
                throw new InvalidOperationException("A decision holds at most six commands.");
        }

        Commands.Count++;
    }
}
