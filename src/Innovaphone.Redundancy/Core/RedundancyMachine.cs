using System.Collections.Immutable;
using System.Globalization;
using Innovaphone.Redundancy.Persistence;
using Innovaphone.Redundancy.Transport;

namespace Innovaphone.Redundancy.Core;

/// <summary>
/// The redundancy state machine: <c>(config, state, event) -> (state, commands)</c>.
/// Pure: no I/O, clock, randomness, tasks or logging; everything it needs arrives in the event,
/// everything it wants done leaves as a command. Rules R1–R11 of docs/concepts.md live here.
/// </summary>
internal static class RedundancyMachine
{
    public static Decision Decide(MachineConfig config, MachineState state, MachineEvent @event) => @event switch
    {
        StartRequested start => OnStart(config, state, start),
        StopRequested => OnStop(state),
        AttemptCompleted completed => OnAttemptCompleted(config, state, completed),
        ConnectionLost lost => OnConnectionLost(config, state, lost),
        BackoffScheduled scheduled => OnBackoffScheduled(state, scheduled),
        BackoffElapsed elapsed => OnBackoffElapsed(config, state, elapsed),
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "Unknown machine event."),
    };

    // R2: start connects to the primary; also the way out of Faulted and Stopped.
    private static Decision OnStart(MachineConfig config, MachineState state, StartRequested start)
    {
        if (state.Phase is not (RedundancyState.Idle or RedundancyState.Faulted or RedundancyState.Stopped))
        {
            return Ignore(state, "start while already running");
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
        var commands = ImmutableArray.CreateBuilder<MachineCommand>();
        return StartRound(config, fresh, RoundCandidates(config, fresh), "started: connecting to the primary PBX", commands);
    }

    // R11: stop closes the connection and cancels attempts and timers.
    private static Decision OnStop(MachineState state)
    {
        if (state.Phase == RedundancyState.Stopped)
        {
            return Ignore(state, "stop while already stopped");
        }

        var commands = ImmutableArray.CreateBuilder<MachineCommand>();
        if (state.AttemptId is long attempt)
        {
            commands.Add(new CancelAttemptCommand(attempt));
        }

        if (state.ConnectionId is long connection)
        {
            commands.Add(new CloseConnectionCommand(connection));
        }

        commands.Add(new ResetBackoffCommand());
        var next = Settle(state) with { Phase = RedundancyState.Stopped, Reason = "stopped by the host" };
        return new Decision(next, commands.ToImmutable());
    }

    private static Decision OnAttemptCompleted(MachineConfig config, MachineState state, AttemptCompleted completed)
    {
        if (completed.AttemptId != state.AttemptId)
        {
            // A late answer of an attempt that was cancelled or superseded. The shell disposes
            // a connection it carries because ConnectionId will not name it.
            return Ignore(state, $"late result of attempt {completed.AttemptId.ToString(CultureInfo.InvariantCulture)} dropped", stale: true);
        }

        var target = state.AttemptTarget!;
        var commands = ImmutableArray.CreateBuilder<MachineCommand>();
        switch (completed.Outcome)
        {
            case LoggedIn loggedIn:
                return OnLoggedIn(config, state, completed.AttemptId, target, loggedIn.Info, commands);

            case Redirected redirected:
                return OnRedirected(config, state, target, redirected, commands);

            case Rejected rejected:
                // R9: a rejected login is not a failover case.
                var reason = string.Create(CultureInfo.InvariantCulture, $"login rejected by {target}: {rejected.Text} (error {rejected.Code})");
                commands.Add(new NoteCommand(MachineNote.LoginRejected, target, reason));
                commands.Add(new ResetBackoffCommand());
                return new Decision(Settle(state) with { Phase = RedundancyState.Faulted, Reason = reason }, commands.ToImmutable());

            case AttemptFailed failed:
                var why = $"attempt to {target} failed ({failed.Kind}): {failed.Reason}";
                commands.Add(new NoteCommand(MachineNote.AttemptFailed, target, why));
                return NextCandidate(config, state, why, commands);

            default:
                throw new ArgumentOutOfRangeException(nameof(completed), completed.Outcome.GetType().Name, "Unknown login outcome.");
        }
    }

    private static Decision OnLoggedIn(
        MachineConfig config, MachineState state, long attemptId, PbxAddress pbx, PbxLoginInfo info, ImmutableArray<MachineCommand>.Builder commands)
    {
        var redirected = state.Hops.Length > 1;

        // R4: the PBX says whether it acts as standby; when it does not, a login that landed,
        // without a redirect, elsewhere than the user's PBX is a standby login. An explicit false wins.
        var standby = info.Standby ?? (!redirected && state.Home is not null && state.Home != pbx);
        // The backoff is not reset here but when the connection proves stable (see OnConnectionLost), so that a
        // PBX that accepts logins and drops them at once meets a growing backoff instead of a reconnect storm.
        var up = Settle(state) with { Current = pbx, ConnectionId = attemptId, AttemptNumber = 0 };

        if (standby)
        {
            // R5: a standby login never changes pri/sec.
            commands.Add(new NoteCommand(MachineNote.StandbyLogin, pbx, $"logged in to {pbx}, which acts as standby for the user's PBX"));
            return new Decision(up with { Phase = RedundancyState.Standby, Reason = $"standby login at {pbx}" }, commands.ToImmutable());
        }

        var secondary = DetermineSecondary(config, pbx, info);
        commands.Add(new NoteCommand(MachineNote.LoggedIn, pbx, redirected ? $"logged in to {pbx} after {state.Hops.Length - 1} redirect(s)" : $"logged in to {pbx}"));
        commands.Add(new NoteCommand(
            MachineNote.Determined, pbx, $"primary {config.Primary}, secondary {secondary?.ToString() ?? "none"}, user's PBX {pbx}"));
        if (secondary != state.Secondary || pbx != state.Home)
        {
            commands.Add(new PersistCommand(new RedundancyRecord(config.Primary, secondary, pbx)));
        }

        var connected = up with
        {
            Phase = RedundancyState.Connected,
            Reason = redirected ? $"connected to the user's PBX {pbx} (redirected)" : $"connected to the user's PBX {pbx}",
            Secondary = secondary,
            Home = pbx,
        };
        return new Decision(connected, commands.ToImmutable());
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
    private static Decision OnRedirected(
        MachineConfig config, MachineState state, PbxAddress from, Redirected redirected, ImmutableArray<MachineCommand>.Builder commands)
    {
        string? refusal = null;
        if (redirected.Scheme != state.AttemptScheme)
        {
            refusal = $"redirect from {from} to {redirected.Target} refused: it changes the scheme from {Scheme(state.AttemptScheme)} to {Scheme(redirected.Scheme)}";
        }
        else if (state.Hops.Contains(redirected.Target))
        {
            refusal = $"redirect from {from} to {redirected.Target} refused: redirect loop ({string.Join(" -> ", state.Hops)} -> {redirected.Target})";
        }
        else if (state.Hops.Length - 1 >= config.MaxRedirectHops)
        {
            refusal = string.Create(CultureInfo.InvariantCulture, $"redirect from {from} to {redirected.Target} refused: hop limit of {config.MaxRedirectHops} reached");
        }

        if (refusal is not null)
        {
            commands.Add(new NoteCommand(MachineNote.RedirectRefused, from, refusal));
            return NextCandidate(config, state, refusal, commands);
        }

        var id = state.NextId;
        var hop = state.Hops.Length;
        commands.Add(new NoteCommand(MachineNote.RedirectFollowed, redirected.Target, $"{from} redirects to {redirected.Target}"));
        commands.Add(new ConnectCommand(id, redirected.Target, redirected.Scheme, state.AttemptNumber, hop));
        var next = state with
        {
            Phase = RedundancyState.Redirected,
            Reason = $"redirected from {from} to {redirected.Target}",
            NextId = id + 1,
            AttemptId = id,
            AttemptTarget = redirected.Target,
            Hops = state.Hops.Add(redirected.Target),
        };
        return new Decision(next, commands.ToImmutable());
    }

    private static Decision OnConnectionLost(MachineConfig config, MachineState state, ConnectionLost lost)
    {
        if (lost.ConnectionId != state.ConnectionId)
        {
            return Ignore(state, "loss of a connection that is no longer current", stale: true);
        }

        var pbx = state.Current!;
        var commands = ImmutableArray.CreateBuilder<MachineCommand>();
        var down = state with { ConnectionId = null };
        if (lost.Loss.Kind == ConnectionLossKind.LoggedOut)
        {
            // The session is gone; reconnecting with it would only be refused.
            var reason = $"session logged out by {pbx}: {lost.Loss.Reason}";
            commands.Add(new NoteCommand(MachineNote.LoggedOut, pbx, reason));
            commands.Add(new ResetBackoffCommand());
            return new Decision(down with { Phase = RedundancyState.Faulted, Reason = reason }, commands.ToImmutable());
        }

        var standbyBack = lost.Loss.Kind == ConnectionLossKind.StandbyBack;
        var why = standbyBack ? $"{pbx} reports the user's PBX is back (StandbyBack)" : $"connection to {pbx} lost: {lost.Loss.Reason}";
        commands.Add(new NoteCommand(standbyBack ? MachineNote.StandbyBack : MachineNote.ConnectionLost, pbx, why));
        if (lost.Unstable)
        {
            // Lost right after its login: back off before the reconnect (R7 resumes after it, current PBX first).
            return Backoff(down with { CurrentFirst = !standbyBack }, $"{why}; the connection was unstable, backing off", commands);
        }

        commands.Add(new ResetBackoffCommand());

        // R8: the user's PBX is back; the normal procedure from the primary gets us there.
        // R7: otherwise the current PBX first, then the alternation from the primary.
        return standbyBack
            ? StartRound(config, down, RoundCandidates(config, down), why, commands)
            : StartRound(config, down, LossCandidates(config, down, pbx), why, commands);
    }

    private static Decision OnBackoffScheduled(MachineState state, BackoffScheduled scheduled)
    {
        if (state.Phase != RedundancyState.Failover || scheduled.TimerId != state.TimerId)
        {
            return Ignore(state, "schedule of a backoff that is no longer pending", stale: true);
        }

        return new Decision(state with { NextAttemptAt = scheduled.DueAt }, []);
    }

    private static Decision OnBackoffElapsed(MachineConfig config, MachineState state, BackoffElapsed elapsed)
    {
        if (state.Phase != RedundancyState.Failover || elapsed.TimerId != state.TimerId)
        {
            return Ignore(state, "end of a backoff that is no longer pending", stale: true);
        }

        var waited = state with { TimerId = null, NextAttemptAt = null, CurrentFirst = false };
        return state.CurrentFirst && state.Current is { } current
            ? StartRound(config, waited, LossCandidates(config, waited, current), $"backoff over: reconnecting to {current} first", ImmutableArray.CreateBuilder<MachineCommand>())
            : StartRound(config, waited, RoundCandidates(config, waited), "backoff over: next round from the primary PBX", ImmutableArray.CreateBuilder<MachineCommand>());
    }

    // R6: primary, then secondary; with no secondary known, the primary alone.
    internal static ImmutableArray<PbxAddress> RoundCandidates(MachineConfig config, MachineState state) =>
        state.Secondary is { } secondary && secondary != config.Primary ? [config.Primary, secondary] : [config.Primary];

    // R7: the current PBX, then primary and secondary, without trying one PBX twice in a row.
    internal static ImmutableArray<PbxAddress> LossCandidates(MachineConfig config, MachineState state, PbxAddress current)
    {
        var round = RoundCandidates(config, state);
        return round[0] == current ? round : round.Insert(0, current);
    }

    private static Decision StartRound(
        MachineConfig config, MachineState state, ImmutableArray<PbxAddress> candidates, string reason, ImmutableArray<MachineCommand>.Builder commands) =>
        BeginAttempt(config, state with { Pending = candidates.RemoveAt(0) }, candidates[0], reason, commands);

    private static Decision BeginAttempt(
        MachineConfig config, MachineState state, PbxAddress target, string reason, ImmutableArray<MachineCommand>.Builder commands)
    {
        var id = state.NextId;
        var number = state.AttemptNumber + 1;
        commands.Add(new ConnectCommand(id, target, config.Scheme, number, 0));
        var next = state with
        {
            Phase = RedundancyState.Connecting,
            Reason = reason,
            NextId = id + 1,
            AttemptId = id,
            AttemptTarget = target,
            AttemptScheme = config.Scheme,
            Hops = [target],
            AttemptNumber = number,
        };
        return new Decision(next, commands.ToImmutable());
    }

    // Within a round there is no delay; when the round is exhausted, back off (R6).
    private static Decision NextCandidate(MachineConfig config, MachineState state, string why, ImmutableArray<MachineCommand>.Builder commands)
    {
        if (!state.Pending.IsEmpty)
        {
            return BeginAttempt(config, state with { Pending = state.Pending.RemoveAt(0) }, state.Pending[0], why, commands);
        }

        commands.Add(new NoteCommand(MachineNote.RoundFailed, state.AttemptTarget, $"no PBX reachable in this round; last: {why}"));
        return Backoff(state with { CurrentFirst = false }, $"no PBX reachable; last: {why}", commands);
    }

    private static Decision Backoff(MachineState state, string reason, ImmutableArray<MachineCommand>.Builder commands)
    {
        var timer = state.NextId;
        commands.Add(new StartBackoffCommand(timer, state.AttemptNumber));
        var next = state with
        {
            Phase = RedundancyState.Failover,
            Reason = reason,
            NextId = timer + 1,
            AttemptId = null,
            AttemptTarget = null,
            Hops = [],
            Pending = [],
            TimerId = timer,
            NextAttemptAt = null,
        };
        return new Decision(next, commands.ToImmutable());
    }

    // No attempt, timer or round left pending.
    private static MachineState Settle(MachineState state) => state with
    {
        AttemptId = null,
        AttemptTarget = null,
        Hops = [],
        Pending = [],
        TimerId = null,
        NextAttemptAt = null,
        ConnectionId = null,
        CurrentFirst = false,
    };

    private static Decision Ignore(MachineState state, string why, bool stale = false) =>
        new(state, [new NoteCommand(stale ? MachineNote.StaleEventIgnored : MachineNote.EventIgnored, null, why)]);

    private static PbxAddress? Different(PbxAddress? candidate, PbxAddress primary) => candidate == primary ? null : candidate;

    private static string Scheme(PbxScheme scheme) => scheme == PbxScheme.Wss ? "wss" : "ws";
}
