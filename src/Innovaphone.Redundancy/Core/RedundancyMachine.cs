namespace Innovaphone.Redundancy.Core;

/// <summary>
/// The redundancy state machine: <c>(config, state, event) -> (state, commands)</c>.
/// Pure: no I/O, clock, randomness, tasks or logging; everything it needs arrives in the event,
/// everything it wants done leaves as a command. Rules R1–R11 of docs/concepts.md live here.
/// </summary>
/// <remarks>
/// A transition allocates nothing, except one array when a redirect is followed: the state and the commands are
/// values, and reasons and notes are codes with arguments that the shell formats only when it publishes or logs.
/// The handlers write the next state field by field over the caller's state and append the commands into the caller's
/// slots: the runtime copies a struct that holds references with a write-barrier helper, so a transition that copied
/// the state in and out would spend most of its time copying.
/// </remarks>
internal static partial class RedundancyMachine
{
    /// <summary>R9: rejections in a row by PBXes other than the user's (no login between) after which the manager faults.</summary>
    public const int MaxRejectionsElsewhere = 3;

    /// <summary>
    /// Decides one transition: writes the next state over <paramref name="state"/> and what the shell is to do into
    /// <paramref name="commands"/> (emptied first). Both slots belong to the caller, so that nothing is copied on the
    /// way in or out; a caller that must keep the previous state copies it before the call. An event that changes
    /// nothing (a stale or ignored one) leaves <paramref name="state"/> as it was and yields one note.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An event or login outcome the machine does not know; the state is then unchanged.</exception>
    public static void Decide(MachineConfig config, ref MachineState state, MachineEvent @event, ref MachineCommands commands)
    {
        commands.Count = 0;
        var decision = new Decision(ref state, ref commands);
        switch (@event)
        {
            case AttemptCompleted completed:
                OnAttemptCompleted(config, completed, decision);
                break;
            case ConnectionLost lost:
                OnConnectionLost(config, lost, decision);
                break;
            case BackoffScheduled scheduled:
                OnBackoffScheduled(scheduled, decision);
                break;
            case BackoffElapsed elapsed:
                OnBackoffElapsed(config, elapsed, decision);
                break;
            case StartRequested start:
                OnStart(config, start, decision);
                break;
            case StopRequested:
                OnStop(decision);
                break;
            case StaggerElapsed stagger:
                OnStaggerElapsed(config, stagger, decision);
                break;
            case AttemptAnswered answered:
                OnAttemptAnswered(answered, decision);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "Unknown machine event.");
        }
    }

    // R2: start connects to the primary; also the way out of Faulted and Stopped.
    private static void OnStart(MachineConfig config, StartRequested start, Decision decision)
    {
        ref var next = ref decision.State;
        if (next.Phase is not (RedundancyState.Idle or RedundancyState.Faulted or RedundancyState.Stopped))
        {
            Ignore(decision, new MachineText(MachineTextCode.StartWhileRunning), stale: false);
            return;
        }

        // R1: the primary is the configured one; a record kept for another primary is not ours.
        var stored = start.Stored;
        if (stored is not null && stored.Primary == config.Primary)
        {
            next.Secondary = Different(stored.Secondary, config.Primary);
            next.Home = stored.Home;
            next.HomeTopology = Topology(stored.HomeAlternative, stored.HomeMaster);
        }

        next.AttemptNumber = 0;
        next.EarlyLosses = 0;
        next.RejectionsElsewhere = 0;
        next.ConnectionId = null;
        next.TimerId = null;
        next.NextAttemptAt = null;
        StartRound(config, decision, RoundCandidates(config, next), new MachineText(MachineTextCode.Started));
    }

    // R11: stop closes the connection and cancels attempts and timers.
    private static void OnStop(Decision decision)
    {
        ref var next = ref decision.State;
        if (next.Phase == RedundancyState.Stopped)
        {
            Ignore(decision, new MachineText(MachineTextCode.StopWhileStopped), stale: false);
            return;
        }

        CancelAttempts(decision, except: 0);
        if (next.ConnectionId is long connection)
        {
            decision.Add(MachineCommand.CloseConnection(connection));
        }

        decision.Add(MachineCommand.ResetBackoff());
        Settle(ref next);
        next.Phase = RedundancyState.Stopped;
        next.Reason = new MachineText(MachineTextCode.StoppedByHost);
    }

    // R6: primary, then secondary; with no secondary known, the primary alone.
    internal static PbxRound RoundCandidates(MachineConfig config, in MachineState state) =>
        state.Secondary is { } secondary && secondary != config.Primary ? new(config.Primary, secondary) : new(config.Primary);

    // R7: the current PBX, then primary and secondary, without trying one PBX twice in a row.
    internal static PbxRound LossCandidates(MachineConfig config, in MachineState state, PbxAddress current)
    {
        var round = RoundCandidates(config, state);
        return round.First == current ? round : round.Prepend(current);
    }

    private static void StartRound(MachineConfig config, Decision decision, PbxRound candidates, in MachineText reason) =>
        BeginAttempt(config, decision, candidates.First!, candidates.Rest, reason);

    // Starts the attempt to one candidate of the round, beside those in flight (none when a round starts).
    private static void BeginAttempt(MachineConfig config, Decision decision, PbxAddress target, PbxRound pending, in MachineText reason)
    {
        ref var next = ref decision.State;
        var id = next.NextId;
        var number = next.AttemptNumber + 1;
        decision.Add(MachineCommand.Connect(id, target, config.Scheme, number, 0));
        next.Phase = RedundancyState.Connecting;
        next.Reason = reason;
        next.NextId = id + 1;
        next.Attempts = next.Attempts.Add(new InFlightAttempt(id, target, config.Scheme, HopPath.Start(target), Answered: false));
        next.Pending = pending;
        next.AttemptNumber = number;
        ArmStagger(decision, target);
    }

    // While candidates wait, a stagger timer measures the silence of the PBX just tried (R7); it replaces an older one.
    private static void ArmStagger(Decision decision, PbxAddress silent)
    {
        ref var next = ref decision.State;
        if (SkipInFlight(next, next.Pending).IsEmpty)
        {
            next.StaggerTimerId = null;
            return;
        }

        var timer = next.NextId;
        decision.Add(MachineCommand.StartStagger(timer, silent));
        next.NextId = timer + 1;
        next.StaggerTimerId = timer;
    }

    // An attempt ended without a login. Within a round there is no delay: the next candidate starts at once; when the
    // round is exhausted and nothing is in flight any more, back off (R6).
    private static void NextCandidate(MachineConfig config, Decision decision, in MachineText why)
    {
        ref var next = ref decision.State;
        var pending = SkipInFlight(next, next.Pending);
        if (!pending.IsEmpty)
        {
            BeginAttempt(config, decision, pending.First!, pending.Rest, why);
            return;
        }

        next.Pending = default;
        if (next.Attempts.Count > 0)
        {
            // Others are still trying: the round goes on with them.
            next.StaggerTimerId = null;
            return;
        }

        decision.Add(MachineCommand.NoteOf(MachineNote.RoundFailed, why with { Wrap = MachineTextWrap.RoundFailed }));
        next.CurrentFirst = false;
        Backoff(decision, why with { Wrap = MachineTextWrap.NoPbxReachable });
    }

    // The candidates still to start, without those an attempt in flight tries already (never two attempts to one PBX).
    private static PbxRound SkipInFlight(in MachineState state, PbxRound pending)
    {
        while (!pending.IsEmpty && state.IsInFlight(pending.First!))
        {
            pending = pending.Rest;
        }

        return pending;
    }

    private static void CancelAttempts(Decision decision, long except)
    {
        var attempts = decision.State.Attempts;
        for (var i = 0; i < attempts.Count; i++)
        {
            if (attempts[i].Id != except)
            {
                decision.Add(MachineCommand.CancelAttempt(attempts[i].Id));
            }
        }
    }

    private static void Backoff(Decision decision, in MachineText reason)
    {
        ref var next = ref decision.State;
        var timer = next.NextId;
        decision.Add(MachineCommand.StartBackoff(timer, next.AttemptNumber));
        next.Phase = RedundancyState.Failover;
        next.Reason = reason;
        next.NextId = timer + 1;
        next.Attempts = default;
        next.Pending = default;
        next.StaggerTimerId = null;
        next.TimerId = timer;
        next.NextAttemptAt = null;
    }

    // No attempt, timer or round left pending.
    private static void Settle(ref MachineState next)
    {
        next.Attempts = default;
        next.Pending = default;
        next.StaggerTimerId = null;
        next.TimerId = null;
        next.NextAttemptAt = null;
        next.ConnectionId = null;
        next.CurrentFirst = false;
    }

    // The state stays as it was (the decision started as a copy of it).
    private static void Ignore(Decision decision, in MachineText why, bool stale) =>
        decision.Add(MachineCommand.NoteOf(stale ? MachineNote.StaleEventIgnored : MachineNote.EventIgnored, why));

    private static PbxAddress? Different(PbxAddress? candidate, PbxAddress primary) => candidate == primary ? null : candidate;
}
