using System.Globalization;
using Innovaphone.Redundancy.Core;

namespace Innovaphone.Redundancy.Benchmarks;

/// <summary>
/// Bytes allocated by each step of <see cref="MachineScenario"/> on its own (<c>--breakdown</c>), to see which
/// transitions allocate what: <see cref="GC.GetAllocatedBytesForCurrentThread"/> around many repetitions from the step's
/// input state. The last column is the number of commands the step emits.
/// </summary>
internal static class AllocationBreakdown
{
    private const int Repetitions = 10_000;

    public static void Print()
    {
        var config = MachineScenario.Config;
        var events = MachineScenario.Events();
        var state = MachineState.Initial;
        var totalBytes = 0.0;
        for (var i = 0; i < events.Length; i++)
        {
            var input = state;
            var (output, commands) = RedundancyMachine.Decide(config, input, events[i]);

            // Warm up first, so that the JIT's own allocations (tiering) are not counted as the step's.
            for (var r = 0; r < Repetitions; r++)
            {
                RedundancyMachine.Decide(config, input, events[i]);
            }

            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var r = 0; r < Repetitions; r++)
            {
                RedundancyMachine.Decide(config, input, events[i]);
            }

            var bytes = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Repetitions;
            totalBytes += bytes;
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"##figure Machine.step{i + 1:00}.{events[i].GetType().Name}->{output.Phase}.alloc {bytes:0} B/transition {commands.Count}-commands"));
            state = output;
        }

        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture, $"##figure Machine.episode.alloc {totalBytes / events.Length:0.#} B/transition {events.Length}-transitions"));
    }
}
