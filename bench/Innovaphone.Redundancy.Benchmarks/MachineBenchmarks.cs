using BenchmarkDotNet.Attributes;
using Innovaphone.Redundancy.Core;

namespace Innovaphone.Redundancy.Benchmarks;

/// <summary>
/// Cost of one transition over a realistic event mix (<see cref="MachineScenario"/>): our pure machine against the same
/// states and transitions in Stateless. Each invocation walks the whole episode; results are per transition.
/// </summary>
[MemoryDiagnoser]
public class MachineBenchmarks
{
    public const int Transitions = 13;

    private readonly MachineConfig _config = MachineScenario.Config;
    private readonly DateTimeOffset _due = new(2026, 1, 1, 0, 0, 1, TimeSpan.Zero);
    private MachineEvent[] _events = [];
    private StatelessBaseline _stateless = null!;

    [GlobalSetup]
    public void Setup()
    {
        _events = MachineScenario.Events();
        _stateless = new StatelessBaseline();
        RunStateless();
        if (_stateless.State != RedundancyState.Connected || _events.Length != Transitions || MachineScenario.Triggers.Length != Transitions)
        {
            throw new InvalidOperationException($"The Stateless baseline ended in {_stateless.State}, expected Connected.");
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Transitions, Description = "Stateless 5.20.1")]
    public RedundancyState Stateless() => RunStateless();

    /// <summary>
    /// Walks the episode and consumes what each transition produced (every command's kind, and the state's phase and
    /// reason), so that neither the state nor the commands can be optimised away.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Transitions, Description = "RedundancyMachine.Decide")]
    public long Machine()
    {
        var state = MachineState.Initial;
        long sum = 0;
        foreach (var @event in _events)
        {
            (state, var commands) = RedundancyMachine.Decide(_config, state, @event);
            foreach (var command in commands)
            {
                sum += command.GetType().MetadataToken;
            }

            sum += (int)state.Phase + state.Reason.GetType().MetadataToken;
        }

        return sum;
    }

    private RedundancyState RunStateless()
    {
        _stateless.Reset();
        foreach (var trigger in MachineScenario.Triggers)
        {
            _stateless.Fire(trigger, _due);
        }

        return _stateless.State;
    }
}
