using System.Globalization;
using Innovaphone.Redundancy.Core;

namespace Innovaphone.Redundancy.Benchmarks;

/// <summary>
/// Bytes allocated by each step of <see cref="MachineScenario"/> on its own (<c>--breakdown</c>), to see which
/// transitions allocate: <see cref="GC.GetAllocatedBytesForCurrentThread"/> around many repetitions from the step's input state.
/// </summary>
internal static class AllocationBreakdown
{
    private const int Repetitions = 10_000;

    public static void Print()
    {
        var config = MachineScenario.Config;
        var events = MachineScenario.Events();
        var state = MachineState.Initial;
        for (var i = 0; i < events.Length; i++)
        {
            var input = state;
            var decision = RedundancyMachine.Decide(config, input, events[i]);
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var r = 0; r < Repetitions; r++)
            {
                decision = RedundancyMachine.Decide(config, input, events[i]);
            }

            var bytes = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Repetitions;
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"##figure Machine.step{i + 1:00}.{events[i].GetType().Name}->{decision.State.Phase}.alloc {bytes:0} B/transition {decision.Commands.Length}-commands"));
            state = decision.State;
        }
    }
}
