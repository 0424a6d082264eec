using System.Collections.Immutable;

namespace Innovaphone.Redundancy.Core;

/// <summary>
/// The redundancy state machine: <c>(config, state, event) -> (state, commands)</c>.
/// Pure: no I/O, clock, randomness, tasks or logging; everything it needs arrives in the event,
/// everything it wants done leaves as a command. Rules R1–R11 of docs/concepts.md live here.
/// </summary>
/// <remarks>
/// One instance lives for one transition (<see cref="Decide"/>): it holds the state as it changes and the commands
/// so far, and the handlers below change the one and append to the other.
/// </remarks>
internal sealed partial class RedundancyMachine
{
    /// <summary>R9: rejections in a row by PBXes other than the user's (no login between) after which the manager faults.</summary>
    public const int MaxRejectionsElsewhere = 3;

    private readonly MachineConfig _config;
    private readonly List<MachineCommand> _commands = [];
    private MachineState _state;

    private RedundancyMachine(MachineConfig config, MachineState state)
    {
        _config = config;
        _state = state;
    }

    /// <summary>
    /// Decides one transition: the next state, and what the shell is to do, in order. An event that changes nothing
    /// (a stale or ignored one) returns <paramref name="state"/> itself and one note.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An event or login outcome the machine does not know.</exception>
    public static (MachineState State, IReadOnlyList<MachineCommand> Commands) Decide(MachineConfig config, MachineState state, MachineEvent @event)
    {
        var machine = new RedundancyMachine(config, state);
        machine.On(@event);
        return (machine._state, machine._commands);
    }

    private void On(MachineEvent @event)
    {
        switch (@event)
        {
            case AttemptCompleted completed:
                OnAttemptCompleted(completed);
                break;
            case ConnectionLost lost:
                OnConnectionLost(lost);
                break;
            case BackoffScheduled scheduled:
                OnBackoffScheduled(scheduled);
                break;
            case BackoffElapsed elapsed:
                OnBackoffElapsed(elapsed);
                break;
            case StartRequested start:
                OnStart(start);
                break;
            case StopRequested:
                OnStop();
                break;
            case StaggerElapsed stagger:
                OnStaggerElapsed(stagger);
                break;
            case AttemptAnswered answered:
                OnAttemptAnswered(answered);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "Unknown machine event.");
        }
    }

    // R2: start connects to the primary; also the way out of Faulted and Stopped.
    private void OnStart(StartRequested start)
    {
        if (_state.Phase is not (RedundancyState.Idle or RedundancyState.Faulted or RedundancyState.Stopped))
        {
            Ignore(IgnoredEvent.StartWhileRunning);
            return;
        }

        // R1: the primary is the configured one; a record kept for another primary is not ours.
        if (start.Stored is { } stored && stored.Primary == _config.Primary)
        {
            _state = _state with
            {
                Secondary = Different(stored.Secondary, _config.Primary),
                Home = stored.Home,
                HomeTopology = Topology(stored.HomeAlternative, stored.HomeMaster),
            };
        }

        _state = _state with { AttemptNumber = 0, EarlyLosses = 0, RejectionsElsewhere = 0, ConnectionId = null, TimerId = null, NextAttemptAt = null };
        StartRound(RoundCandidates(), new MachineText.Started());
    }

    // R11: stop closes the connection and cancels attempts and timers.
    private void OnStop()
    {
        if (_state.Phase == RedundancyState.Stopped)
        {
            Ignore(IgnoredEvent.StopWhileStopped);
            return;
        }

        CancelAttempts(except: null);
        if (_state.ConnectionId is long connection)
        {
            _commands.Add(new CloseConnection(connection));
        }

        _commands.Add(new ResetBackoff());
        Settle(RedundancyState.Stopped, new MachineText.StoppedByHost());
    }

    // R6: primary, then secondary; with no secondary known, the primary alone.
    private ImmutableArray<PbxAddress> RoundCandidates() =>
        _state.Secondary is { } secondary && secondary != _config.Primary ? [_config.Primary, secondary] : [_config.Primary];

    // R7: the current PBX, then primary and secondary, without trying one PBX twice in a row.
    private ImmutableArray<PbxAddress> LossCandidates(PbxAddress current)
    {
        var round = RoundCandidates();
        return round[0] == current ? round : round.Insert(0, current);
    }

    private void StartRound(ImmutableArray<PbxAddress> candidates, MachineText reason, bool spread = false) =>
        BeginAttempt(candidates[0], candidates.RemoveAt(0), reason, spread);

    // Starts the attempt to one candidate of the round, beside those in flight (none when a round starts).
    private void BeginAttempt(PbxAddress target, ImmutableArray<PbxAddress> pending, MachineText reason, bool spread = false)
    {
        var id = _state.NextId;
        var number = _state.AttemptNumber + 1;
        _commands.Add(new Connect(id, target, _config.Scheme, number, Hop: 0, spread));
        _state = _state with
        {
            Phase = RedundancyState.Connecting,
            Reason = reason,
            NextId = id + 1,
            Attempts = _state.Attempts.Add(new InFlightAttempt(id, target, _config.Scheme, [target])),
            Pending = pending,
            AttemptNumber = number,
        };
        ArmStagger(target, spread);
    }

    // While candidates wait, a stagger timer measures the silence of the PBX just tried (R7); it replaces an older one.
    private void ArmStagger(PbxAddress silent, bool spread = false)
    {
        if (Untried(_state.Pending).IsEmpty)
        {
            _state = _state with { StaggerTimerId = null };
            return;
        }

        var timer = _state.NextId;
        _commands.Add(new StartStagger(timer, silent, spread));
        _state = _state with { NextId = timer + 1, StaggerTimerId = timer };
    }

    // An attempt to `tried` ended without a login. Within a round there is no delay: the next candidate starts at once;
    // when the round is exhausted and nothing is in flight any more, back off (R6).
    private void NextCandidate(PbxAddress tried, MachineText why)
    {
        var pending = Untried(_state.Pending);
        if (!pending.IsEmpty)
        {
            BeginAttempt(pending[0], pending.RemoveAt(0), why);
            return;
        }

        if (!_state.Attempts.IsEmpty)
        {
            // Others are still trying: the round goes on with them.
            _state = _state with { Pending = [], StaggerTimerId = null };
            return;
        }

        var roundFailed = new MachineText.RoundFailed(tried, why);
        AddNote(roundFailed);
        Backoff(roundFailed, currentFirst: false);
    }

    // The candidates still to start, without those an attempt in flight tries already (never two attempts to one PBX).
    private ImmutableArray<PbxAddress> Untried(ImmutableArray<PbxAddress> pending)
    {
        while (!pending.IsEmpty && _state.IsInFlight(pending[0]))
        {
            pending = pending.RemoveAt(0);
        }

        return pending;
    }

    private void CancelAttempts(long? except)
    {
        foreach (var attempt in _state.Attempts)
        {
            if (attempt.Id != except)
            {
                _commands.Add(new CancelAttempt(attempt.Id));
            }
        }
    }

    // Waits out a backoff before the next round (R6), which starts at the current PBX when `currentFirst`.
    private void Backoff(MachineText reason, bool currentFirst)
    {
        var timer = _state.NextId;
        _commands.Add(new StartBackoff(timer));
        _state = _state with
        {
            Phase = RedundancyState.Failover,
            Reason = reason,
            NextId = timer + 1,
            Attempts = [],
            Pending = [],
            StaggerTimerId = null,
            TimerId = timer,
            NextAttemptAt = null,
            CurrentFirst = currentFirst,
        };
    }

    // Enters `phase` with no attempt, timer, round or connection left pending.
    private void Settle(RedundancyState phase, MachineText reason) =>
        _state = _state with
        {
            Phase = phase,
            Reason = reason,
            Attempts = [],
            Pending = [],
            StaggerTimerId = null,
            TimerId = null,
            NextAttemptAt = null,
            ConnectionId = null,
            CurrentFirst = false,
        };

    private void AddNote(MachineText text) => _commands.Add(new Note(text));

    // The state stays as it was.
    private void Ignore(IgnoredEvent what, long attemptId = 0) => AddNote(new MachineText.Ignored(what, attemptId));

    private static PbxAddress? Different(PbxAddress? candidate, PbxAddress primary) => candidate == primary ? null : candidate;
}
