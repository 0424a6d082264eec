using System.Globalization;
using Innovaphone.Redundancy.Core;

namespace Innovaphone.Redundancy.Benchmarks;

/// <summary>
/// Bytes and objects allocated by each step of <see cref="MachineScenario"/> on its own (<c>--breakdown</c>), to see which
/// transitions allocate: <see cref="GC.GetAllocatedBytesForCurrentThread"/> around many repetitions from the step's input state.
/// </summary>
/// <remarks>
/// The runtime counts bytes, not objects. The machine's only allocation by design is the array of redirect hops when a
/// redirect is followed, so a step's objects are derived: 0 when it allocated no byte, 1 when its bytes are exactly that
/// array's size; any other figure is printed as unaccounted, which would mean an allocation the design does not expect.
/// </remarks>
internal static class AllocationBreakdown
{
    private const int Repetitions = 10_000;

    public static void Print()
    {
        var config = MachineScenario.Config;
        var events = MachineScenario.Events();
        var state = MachineState.Initial;
        var totalBytes = 0.0;
        var totalObjects = 0;
        var accounted = true;
        for (var i = 0; i < events.Length; i++)
        {
            var input = state;
            var output = input;
            var commands = default(MachineCommands);
            RedundancyMachine.Decide(config, ref output, events[i], ref commands);

            // Warm up first, so that the JIT's own allocations (tiering) are not counted as the step's.
            for (var r = 0; r < Repetitions; r++)
            {
                output = input;
                RedundancyMachine.Decide(config, ref output, events[i], ref commands);
            }

            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var r = 0; r < Repetitions; r++)
            {
                output = input;
                RedundancyMachine.Decide(config, ref output, events[i], ref commands);
            }

            var bytes = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Repetitions;
            var objects = Objects(bytes, input, output);
            totalBytes += bytes;
            totalObjects += objects ?? 0;
            accounted &= objects is not null;
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"##figure Machine.step{i + 1:00}.{events[i].GetType().Name}->{output.Phase}.alloc {bytes:0} B/transition {(objects is { } n ? $"{n}-objects" : "unaccounted")} {commands.Length}-commands"));
            state = output;
        }

        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"##figure Machine.episode.alloc {totalBytes / events.Length:0.#} B/transition {(accounted ? $"{totalObjects / (double)events.Length:0.##}-objects/transition" : "unaccounted")} {totalObjects}-objects/{events.Length}-transitions"));
    }

    private static int? Objects(double bytes, MachineState input, MachineState output)
    {
        // Less than half a byte per transition is no object per transition (the smallest object is 24 B).
        bytes = Math.Round(bytes);
        if (bytes == 0)
        {
            return 0;
        }

        // A followed redirect appends to the hops: one new array of references (header, length, one slot per redirect).
        var redirects = output.Hops.Redirects;
        if (!redirects.IsDefault && redirects != input.Hops.Redirects)
        {
            var arrayBytes = (3 * IntPtr.Size) + (redirects.Length * IntPtr.Size);
            if (bytes == arrayBytes)
            {
                return 1;
            }
        }

        return null;
    }
}
