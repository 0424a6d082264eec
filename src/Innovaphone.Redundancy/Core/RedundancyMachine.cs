using Innovaphone.Redundancy.Transport;

namespace Innovaphone.Redundancy.Core;

/// <summary>
/// The redundancy state machine: <c>(config, state, event) -> (state, commands)</c>.
/// Pure: no I/O, clock, randomness, tasks or logging; everything it needs arrives in the event,
/// everything it wants done leaves as a command. Rules R1–R11 of docs/concepts.md live here.
/// </summary>
/// <remarks>
/// A transition allocates nothing, except one array when a redirect is followed: the state and the commands are
/// values, and reasons and notes are codes with arguments that the shell formats only when it publishes or logs.
/// </remarks>
internal static class RedundancyMachine
{
    public static Decision Decide(MachineConfig config, in MachineState state, MachineEvent @event)
    {
        var commands = default(MachineCommands);
        var next = @event switch
        {
            AttemptCompleted completed => OnAttemptCompleted(config, state, completed, ref commands),
            ConnectionLost lost => OnConnectionLost(config, state, lost, ref commands),
            BackoffScheduled scheduled => OnBackoffScheduled(state, scheduled, ref commands),
            BackoffElapsed elapsed => OnBackoffElapsed(config, state, elapsed, ref commands),
            StartRequested start => OnStart(config, state, start, ref commands),
            StopRequested => OnStop(state, ref commands),
            _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "Unknown machine event."),
        };
        return new Decision(next, commands);
    }

    // R2: start connects to the primary; also the way out of Faulted and Stopped.
    private static MachineState OnStart(MachineConfig config, in MachineState state, StartRequested start, ref MachineCommands commands)
    {
        if (state.Phase is not (RedundancyState.Idle or RedundancyState.Faulted or RedundancyState.Stopped))
        {
            return Ignore(state, MachineTextCode.StartWhileRunning, ref commands);
        }

        var stored = start.Stored;
        var usable = stored is not null && stored.Primary == config.Primary;
        var fresh = state with
        {
            // R1: the primary is the configured one; a record kept for another primary is not ours.
            Secondary = usable ? Different(stored!.Secondary, config.Primary) : state.Secondary,
            Home = usable ? stored!.Home : state.Home,
            AttemptNumber = 0,
            ConnectionId = null,
            TimerId = null,
            NextAttemptAt = null,
        };
        return StartRound(config, fresh, RoundCandidates(config, fresh), new MachineText(MachineTextCode.Started), ref commands);
    }

    // R11: stop closes the connection and cancels attempts and timers.
    private static MachineState OnStop(in MachineState state, ref MachineCommands commands)
    {
        if (state.Phase == RedundancyState.Stopped)
        {
            return Ignore(state, MachineTextCode.StopWhileStopped, ref commands);
        }

        if (state.AttemptId is long attempt)
        {
            commands.Add(MachineCommand.CancelAttempt(attempt));
        }

        if (state.ConnectionId is long connection)
        {
            commands.Add(MachineCommand.CloseConnection(connection));
        }

        commands.Add(MachineCommand.ResetBackoff());
        return Settle(state) with { Phase = RedundancyState.Stopped, Reason = new(MachineTextCode.StoppedByHost) };
    }

    private static MachineState OnAttemptCompleted(MachineConfig config, in MachineState state, AttemptCompleted completed, ref MachineCommands commands)
    {
        if (completed.AttemptId != state.AttemptId)
        {
            // A late answer of an attempt that was cancelled or superseded. The shell disposes
            // a connection it carries because ConnectionId will not name it.
            return Ignore(state, new MachineText(MachineTextCode.LateAttemptResult) { Number = completed.AttemptId }, stale: true, ref commands);
        }

        var target = state.AttemptTarget!;
        switch (completed.Outcome)
        {
            case LoggedIn loggedIn:
                return OnLoggedIn(config, state, completed.AttemptId, target, loggedIn.Info, ref commands);

            case Redirected redirected:
                return OnRedirected(config, state, target, redirected, ref commands);

            case Rejected rejected:
                // R9: a rejected login is not a failover case.
                var reason = new MachineText(MachineTextCode.LoginRejected) { Pbx = target, Detail = rejected.Text, Number = rejected.Code };
                commands.Add(MachineCommand.NoteOf(MachineNote.LoginRejected, reason));
                commands.Add(MachineCommand.ResetBackoff());
                return Settle(state) with { Phase = RedundancyState.Faulted, Reason = reason };

            case AttemptFailed failed:
                var why = new MachineText(MachineTextCode.AttemptFailed) { Pbx = target, FailureKind = failed.Kind, Detail = failed.Reason };
                commands.Add(MachineCommand.NoteOf(MachineNote.AttemptFailed, why));
                return NextCandidate(config, state, why, ref commands);

            default:
                throw new ArgumentOutOfRangeException(nameof(completed), completed.Outcome.GetType().Name, "Unknown login outcome.");
        }
    }

    private static MachineState OnLoggedIn(
        MachineConfig config, in MachineState state, long attemptId, PbxAddress pbx, PbxLoginInfo info, ref MachineCommands commands)
    {
        var redirects = state.Hops.RedirectCount;

        // R4: the PBX says whether it acts as standby; when it does not, a login that landed,
        // without a redirect, elsewhere than the user's PBX is a standby login. An explicit false wins.
        var standby = info.Standby ?? (redirects == 0 && state.Home is not null && state.Home != pbx);

        // The backoff is not reset here but when the connection proves stable (see OnConnectionLost), so that a
        // PBX that accepts logins and drops them at once meets a growing backoff instead of a reconnect storm.
        if (standby)
        {
            // R5: a standby login never changes pri/sec.
            commands.Add(MachineCommand.NoteOf(MachineNote.StandbyLogin, new MachineText(MachineTextCode.StandbyLoggedIn) { Pbx = pbx }));
            return Settle(state) with
            {
                Current = pbx,
                ConnectionId = attemptId,
                AttemptNumber = 0,
                Phase = RedundancyState.Standby,
                Reason = new MachineText(MachineTextCode.StandbyLogin) { Pbx = pbx },
            };
        }

        var secondary = DetermineSecondary(config, pbx, info);
        commands.Add(MachineCommand.NoteOf(MachineNote.LoggedIn, new MachineText(MachineTextCode.LoggedIn) { Pbx = pbx, Number = redirects }));
        commands.Add(MachineCommand.NoteOf(
            MachineNote.Determined, new MachineText(MachineTextCode.Determined) { Pbx = pbx, Other = secondary, Primary = config.Primary }));
        if (secondary != state.Secondary || pbx != state.Home)
        {
            commands.Add(MachineCommand.Persist(secondary, pbx));
        }

        return Settle(state) with
        {
            Current = pbx,
            ConnectionId = attemptId,
            AttemptNumber = 0,
            Phase = RedundancyState.Connected,
            Reason = new MachineText(redirects > 0 ? MachineTextCode.ConnectedRedirected : MachineTextCode.Connected) { Pbx = pbx },
            Secondary = secondary,
            Home = pbx,
        };
    }

    /// <summary>
    /// R5. The secondary is the PBX we ended on when that is not the primary (we were redirected there,
    /// or reached it directly while the primary was down); otherwise the explicit standby of the primary,
    /// otherwise its master; never the primary itself.
    /// </summary>
    internal static PbxAddress? DetermineSecondary(MachineConfig config, PbxAddress endedOn, PbxLoginInfo info)
    {
        var candidate = endedOn != config.Primary ? endedOn : info.Alternative ?? info.Master;
        return Different(candidate, config.Primary);
    }

    // R3: follow within the hop limit, never in a loop, never to another scheme.
    private static MachineState OnRedirected(
        MachineConfig config, in MachineState state, PbxAddress from, Redirected redirected, ref MachineCommands commands)
    {
        var refusal = MachineTextCode.NotStarted;
        if (redirected.Scheme != state.AttemptScheme)
        {
            refusal = MachineTextCode.RedirectSchemeRefused;
        }
        else if (state.Hops.Contains(redirected.Target))
        {
            refusal = MachineTextCode.RedirectLoopRefused;
        }
        else if (state.Hops.RedirectCount >= config.MaxRedirectHops)
        {
            refusal = MachineTextCode.RedirectHopLimitRefused;
        }

        if (refusal != MachineTextCode.NotStarted)
        {
            var why = new MachineText(refusal)
            {
                Pbx = from,
                Other = redirected.Target,
                SchemeFrom = state.AttemptScheme,
                SchemeTo = redirected.Scheme,
                Hops = refusal == MachineTextCode.RedirectLoopRefused ? state.Hops : default,
                Number = refusal == MachineTextCode.RedirectHopLimitRefused ? config.MaxRedirectHops : 0,
            };
            commands.Add(MachineCommand.NoteOf(MachineNote.RedirectRefused, why));
            return NextCandidate(config, state, why, ref commands);
        }

        var id = state.NextId;
        commands.Add(MachineCommand.NoteOf(MachineNote.RedirectFollowed, new MachineText(MachineTextCode.RedirectFollowed) { Pbx = from, Other = redirected.Target }));
        commands.Add(MachineCommand.Connect(id, redirected.Target, redirected.Scheme, state.AttemptNumber, state.Hops.Length));
        return state with
        {
            Phase = RedundancyState.Redirected,
            Reason = new MachineText(MachineTextCode.Redirected) { Pbx = from, Other = redirected.Target },
            NextId = id + 1,
            AttemptId = id,
            AttemptTarget = redirected.Target,
            Hops = state.Hops.Add(redirected.Target),
        };
    }

    private static MachineState OnConnectionLost(MachineConfig config, in MachineState state, ConnectionLost lost, ref MachineCommands commands)
    {
        if (lost.ConnectionId != state.ConnectionId)
        {
            return Ignore(state, new MachineText(MachineTextCode.StaleConnectionLoss), stale: true, ref commands);
        }

        var pbx = state.Current!;
        if (lost.Loss.Kind == ConnectionLossKind.LoggedOut)
        {
            // The session is gone; reconnecting with it would only be refused.
            var reason = new MachineText(MachineTextCode.LoggedOut) { Pbx = pbx, Detail = lost.Loss.Reason };
            commands.Add(MachineCommand.NoteOf(MachineNote.LoggedOut, reason));
            commands.Add(MachineCommand.ResetBackoff());
            return state with { ConnectionId = null, Phase = RedundancyState.Faulted, Reason = reason };
        }

        var standbyBack = lost.Loss.Kind == ConnectionLossKind.StandbyBack;
        var why = standbyBack
            ? new MachineText(MachineTextCode.StandbyBack) { Pbx = pbx }
            : new MachineText(MachineTextCode.ConnectionLost) { Pbx = pbx, Detail = lost.Loss.Reason };
        commands.Add(MachineCommand.NoteOf(standbyBack ? MachineNote.StandbyBack : MachineNote.ConnectionLost, why));
        if (lost.Unstable)
        {
            // Lost right after its login: back off before the reconnect (R7 resumes after it, current PBX first).
            return Backoff(state with { ConnectionId = null, CurrentFirst = !standbyBack }, why with { Wrap = MachineTextWrap.Unstable }, ref commands);
        }

        commands.Add(MachineCommand.ResetBackoff());

        // R8: the user's PBX is back; the normal procedure from the primary gets us there.
        // R7: otherwise the current PBX first, then the alternation from the primary.
        var down = state with { ConnectionId = null };
        return StartRound(config, down, standbyBack ? RoundCandidates(config, down) : LossCandidates(config, down, pbx), why, ref commands);
    }

    private static MachineState OnBackoffScheduled(in MachineState state, BackoffScheduled scheduled, ref MachineCommands commands)
    {
        if (state.Phase != RedundancyState.Failover || scheduled.TimerId != state.TimerId)
        {
            return Ignore(state, new MachineText(MachineTextCode.StaleBackoffSchedule), stale: true, ref commands);
        }

        return state with { NextAttemptAt = scheduled.DueAt };
    }

    private static MachineState OnBackoffElapsed(MachineConfig config, in MachineState state, BackoffElapsed elapsed, ref MachineCommands commands)
    {
        if (state.Phase != RedundancyState.Failover || elapsed.TimerId != state.TimerId)
        {
            return Ignore(state, new MachineText(MachineTextCode.StaleBackoffEnd), stale: true, ref commands);
        }

        var waited = state with { TimerId = null, NextAttemptAt = null, CurrentFirst = false };
        return state.CurrentFirst && state.Current is { } current
            ? StartRound(config, waited, LossCandidates(config, waited, current), new MachineText(MachineTextCode.BackoffOverCurrentFirst) { Pbx = current }, ref commands)
            : StartRound(config, waited, RoundCandidates(config, waited), new MachineText(MachineTextCode.BackoffOverFromPrimary), ref commands);
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

    private static MachineState StartRound(
        MachineConfig config, in MachineState state, PbxRound candidates, in MachineText reason, ref MachineCommands commands) =>
        BeginAttempt(config, state, candidates.First!, candidates.Rest, reason, ref commands);

    private static MachineState BeginAttempt(
        MachineConfig config, in MachineState state, PbxAddress target, PbxRound pending, in MachineText reason, ref MachineCommands commands)
    {
        var id = state.NextId;
        var number = state.AttemptNumber + 1;
        commands.Add(MachineCommand.Connect(id, target, config.Scheme, number, 0));
        return state with
        {
            Phase = RedundancyState.Connecting,
            Reason = reason,
            NextId = id + 1,
            AttemptId = id,
            AttemptTarget = target,
            AttemptScheme = config.Scheme,
            Hops = HopPath.Start(target),
            Pending = pending,
            AttemptNumber = number,
        };
    }

    // Within a round there is no delay; when the round is exhausted, back off (R6).
    private static MachineState NextCandidate(MachineConfig config, in MachineState state, in MachineText why, ref MachineCommands commands)
    {
        if (!state.Pending.IsEmpty)
        {
            return BeginAttempt(config, state, state.Pending.First!, state.Pending.Rest, why, ref commands);
        }

        commands.Add(MachineCommand.NoteOf(MachineNote.RoundFailed, why with { Wrap = MachineTextWrap.RoundFailed }));
        return Backoff(state with { CurrentFirst = false }, why with { Wrap = MachineTextWrap.NoPbxReachable }, ref commands);
    }

    private static MachineState Backoff(in MachineState state, in MachineText reason, ref MachineCommands commands)
    {
        var timer = state.NextId;
        commands.Add(MachineCommand.StartBackoff(timer, state.AttemptNumber));
        return state with
        {
            Phase = RedundancyState.Failover,
            Reason = reason,
            NextId = timer + 1,
            AttemptId = null,
            AttemptTarget = null,
            Hops = default,
            Pending = default,
            TimerId = timer,
            NextAttemptAt = null,
        };
    }

    // No attempt, timer or round left pending.
    private static MachineState Settle(in MachineState state) => state with
    {
        AttemptId = null,
        AttemptTarget = null,
        Hops = default,
        Pending = default,
        TimerId = null,
        NextAttemptAt = null,
        ConnectionId = null,
        CurrentFirst = false,
    };

    private static MachineState Ignore(in MachineState state, MachineTextCode code, ref MachineCommands commands) =>
        Ignore(state, new MachineText(code), stale: false, ref commands);

    private static MachineState Ignore(in MachineState state, in MachineText why, bool stale, ref MachineCommands commands)
    {
        commands.Add(MachineCommand.NoteOf(stale ? MachineNote.StaleEventIgnored : MachineNote.EventIgnored, why));
        return state;
    }

    private static PbxAddress? Different(PbxAddress? candidate, PbxAddress primary) => candidate == primary ? null : candidate;
}

/// <summary>The machine's answer to one event: the next state and what the shell is to do.</summary>
internal readonly struct Decision(MachineState state, MachineCommands commands)
{
    public MachineState State { get; } = state;

    public MachineCommands Commands { get; } = commands;
}
