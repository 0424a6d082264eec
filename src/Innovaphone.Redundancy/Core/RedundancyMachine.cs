using System.Runtime.CompilerServices;
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
/// The handlers write the next state field by field over the caller's state and append the commands into the caller's
/// slots: the runtime copies a struct that holds references with a write-barrier helper, so a transition that copied
/// the state in and out would spend most of its time copying.
/// </remarks>
internal static class RedundancyMachine
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

    private static void OnAttemptCompleted(MachineConfig config, AttemptCompleted completed, Decision decision)
    {
        ref var next = ref decision.State;
        var index = next.Attempts.IndexOf(completed.AttemptId);
        if (index < 0)
        {
            // A late answer of an attempt that was cancelled or superseded (or lost a race); a login it brought is closed.
            Ignore(decision, new MachineText(MachineTextCode.LateAttemptResult) { Number = completed.AttemptId }, stale: true);
            if (completed.Result is LoginAccepted)
            {
                decision.Add(MachineCommand.CloseConnection(completed.AttemptId));
            }

            return;
        }

        var attempt = next.Attempts[index];
        switch (completed.Result)
        {
            case LoginAccepted accepted:
                // The first login of the round wins; the others are cancelled (a standby winner comes home by StandbyBack).
                CancelAttempts(decision, except: attempt.Id);
                OnLoggedIn(config, attempt, accepted.Info, decision);
                break;

            case RedirectOffered redirected:
                OnRedirected(config, index, attempt, redirected, decision);
                break;

            case LoginDenied rejected:
                OnRejected(config, index, attempt, rejected, decision);
                break;

            case AttemptUnsuccessful failed:
                var why = new MachineText(MachineTextCode.AttemptFailed) { Pbx = attempt.Target, FailureKind = failed.Kind, Detail = failed.Reason };
                decision.Add(MachineCommand.NoteOf(MachineNote.AttemptFailed, why));
                next.Attempts = next.Attempts.RemoveAt(index);
                NextCandidate(config, decision, why);
                break;

            default:
                throw new ArgumentOutOfRangeException(nameof(completed), completed.Result.GetType().Name, "Unknown attempt result.");
        }
    }

    // R9. The user's PBX (or, while it is not known, the first PBX of an attempt, which judged our credentials) decides:
    // its rejection (a wrong password) faults at once. Another PBX's rejection (a standby, the primary when it is not the
    // user's PBX, a redirect target after a redirect that proved the credentials) says that PBX will not serve us now:
    // the round goes on, and only the third such rejection in a row faults, so that a wrong password known only there
    // costs at most three rejected logins.
    private static void OnRejected(MachineConfig config, int index, in InFlightAttempt attempt, LoginDenied rejected, Decision decision)
    {
        ref var next = ref decision.State;
        var home = next.Home;
        var verdict = attempt.Target == home || (home is null && attempt.Hops.RedirectCount == 0);
        if (!verdict && next.RejectionsElsewhere + 1 < MaxRejectionsElsewhere)
        {
            next.RejectionsElsewhere++;
            var why = new MachineText(MachineTextCode.LoginRejectedElsewhere) { Pbx = attempt.Target, Other = home, Detail = rejected.Text, Number = rejected.Code };
            decision.Add(MachineCommand.NoteOf(MachineNote.LoginRejectedElsewhere, why));
            next.Attempts = next.Attempts.RemoveAt(index);
            NextCandidate(config, decision, why);
            return;
        }

        var reason = new MachineText(MachineTextCode.LoginRejected)
        {
            Pbx = attempt.Target,
            Detail = rejected.Text,
            Number = rejected.Code,
            Wrap = verdict ? MachineTextWrap.None : MachineTextWrap.RejectedRepeatedly,
        };
        CancelAttempts(decision, except: attempt.Id);
        decision.Add(MachineCommand.NoteOf(MachineNote.LoginRejected, reason));
        decision.Add(MachineCommand.ResetBackoff());
        Settle(ref next);
        next.Phase = RedundancyState.Faulted;
        next.Reason = reason;
    }

    // Staggered attempts: the PBX of an attempt answered, so it is alive and keeps the floor.
    private static void OnAttemptAnswered(AttemptAnswered answered, Decision decision)
    {
        ref var next = ref decision.State;
        var index = next.Attempts.IndexOf(answered.AttemptId);
        if (index < 0)
        {
            Ignore(decision, new MachineText(MachineTextCode.StaleAnswer) { Number = answered.AttemptId }, stale: true);
            return;
        }

        var attempt = next.Attempts[index];
        if (!attempt.Answered)
        {
            next.Attempts = next.Attempts.ReplaceAt(index, attempt with { Answered = true });
        }
    }

    // Staggered attempts (R7): the attempts in flight stayed silent for the stagger delay; the next candidate starts beside them.
    private static void OnStaggerElapsed(MachineConfig config, StaggerElapsed elapsed, Decision decision)
    {
        ref var next = ref decision.State;
        if (elapsed.TimerId != next.StaggerTimerId)
        {
            Ignore(decision, new MachineText(MachineTextCode.StaleStagger), stale: true);
            return;
        }

        next.StaggerTimerId = null;
        var lead = next.Attempts.Lead;
        if (next.Attempts.AnyAnswered)
        {
            // Only a silent candidate is raced: one that answered (a two-factor prompt above all) keeps the floor; if it
            // fails, the next candidate starts at once.
            return;
        }

        var pending = SkipInFlight(next, next.Pending);
        if (pending.IsEmpty)
        {
            next.Pending = default;
            return;
        }

        var why = new MachineText(MachineTextCode.StaggeredAttempt) { Pbx = lead.Target, Other = pending.First };
        decision.Add(MachineCommand.NoteOf(MachineNote.AttemptStaggered, why));
        BeginAttempt(config, decision, pending.First!, pending.Rest, why);
    }

    private static void OnLoggedIn(MachineConfig config, in InFlightAttempt attempt, PbxLoginInfo info, Decision decision)
    {
        ref var next = ref decision.State;
        var pbx = attempt.Target;
        var attemptId = attempt.Id;
        var redirects = attempt.Hops.RedirectCount;
        var home = next.Home;
        var oldSecondary = next.Secondary;

        // R4: the PBX says whether it acts as standby (an explicit false wins); when it does not, the evidence decides.
        var evidence = info.Standby is bool said ? (said ? StandbyEvidence.SaidStandby : StandbyEvidence.SaidHome) : InferStandby(next, pbx, attempt.Hops, info);
        var standby = evidence is StandbyEvidence.SaidStandby or StandbyEvidence.HomeTopology or StandbyEvidence.DirectElsewhere;

        // The backoff is not reset here but when the connection proves stable (see OnConnectionLost), so that a
        // PBX that accepts logins and drops them at once meets a growing backoff instead of a reconnect storm.
        Settle(ref next);
        next.Current = pbx;
        next.ConnectionId = attemptId;
        next.AttemptNumber = 0;
        next.RejectionsElsewhere = 0;
        next.HomeBefore = null;
        decision.Add(MachineCommand.AdoptConnection(attemptId));
        if (standby)
        {
            // R5: a standby login never changes pri/sec.
            decision.Add(MachineCommand.NoteOf(
                MachineNote.StandbyLogin, new MachineText(MachineTextCode.StandbyLoggedIn) { Pbx = pbx, Other = home, Number = (long)evidence }));
            next.Phase = RedundancyState.Standby;
            next.Reason = new MachineText(MachineTextCode.StandbyLogin) { Pbx = pbx };
            return;
        }

        var secondary = DetermineSecondary(config, pbx, redirects, info);
        var topology = Topology(info.Alternative, info.Master);
        decision.Add(MachineCommand.NoteOf(MachineNote.LoggedIn, new MachineText(MachineTextCode.LoggedIn) { Pbx = pbx, Number = redirects }));
        decision.Add(MachineCommand.NoteOf(
            MachineNote.Determined, new MachineText(MachineTextCode.Determined) { Pbx = pbx, Other = secondary, Primary = config.Primary }));
        if (secondary != oldSecondary || pbx != home || topology != next.HomeTopology)
        {
            decision.Add(MachineCommand.Persist(secondary, pbx, topology));
            next.HomeBefore = new HomeSnapshot(home, oldSecondary, next.HomeTopology);
        }

        next.Phase = RedundancyState.Connected;
        next.Reason = new MachineText(redirects > 0 ? MachineTextCode.ConnectedRedirected : MachineTextCode.Connected) { Pbx = pbx };
        next.Secondary = secondary;
        next.Home = pbx;
        next.HomeTopology = topology;
    }

    /// <summary>
    /// R4 without a <c>standby</c> flag: whether the login at <paramref name="pbx"/> is a standby login, from the evidence
    /// the protocol gives (docs/concepts.md "Standby inference"). In order:
    /// the user's PBX is not known, or this is it: a home login.
    /// A redirect chain that passed through the user's PBX: that PBX is up and sent the user on, so the chain ended at
    /// the user's new PBX.
    /// The user's PBX named its standby (<c>alt</c>) and master at its last login: a PBX that can stand in for it by the
    /// concept (its standby, its master, or a slave of it when it is a master) keeps the user as standby; any other PBX
    /// is taken for the user's PBX (moved by the administrator). Where that is wrong (a PBX that keeps the user only
    /// because it lost its own redirect target), the PBX's StandbyBack takes it back.
    /// Without those hints: the end of a redirect chain is the user's PBX; a PBX reached directly is a standby.
    /// </summary>
    internal static StandbyEvidence InferStandby(in MachineState state, PbxAddress pbx, in HopPath hops, PbxLoginInfo info)
    {
        var home = state.Home;
        if (home is null || home == pbx)
        {
            return StandbyEvidence.NoOtherHome;
        }

        var redirected = hops.RedirectCount > 0;
        if (redirected && hops.Contains(home))
        {
            return StandbyEvidence.HomeSentOn;
        }

        if (state.HomeTopology is { } topology)
        {
            var standsIn = pbx == topology.Alternative || pbx == topology.Master || (topology.Master is null && info.Master == home);
            return standsIn ? StandbyEvidence.HomeTopology : StandbyEvidence.NotInHomeTopology;
        }

        return redirected ? StandbyEvidence.RedirectEnd : StandbyEvidence.DirectElsewhere;
    }

    private static PbxLoginInfo? Topology(PbxAddress? alternative, PbxAddress? master) =>
        alternative is null && master is null ? null : new PbxLoginInfo(null, alternative, master);

    /// <summary>
    /// R5. After a redirected login the secondary is the PBX we ended on (the user's PBX). After a direct login the
    /// concept's standby rule applies: the explicit standby (<c>alt</c>) of the PBX we ended on, else its master; when
    /// that names no PBX or the primary itself, the PBX we ended on. The secondary is never the primary.
    /// </summary>
    /// <remarks>
    /// The fallback keeps both cases of docs/concepts.md "Interpretations": reached directly at a slave while the
    /// primary (another slave) is down, its master becomes the secondary, so that the user stays served when that slave
    /// fails too; reached directly at a slave whose master is the primary, the slave stays the secondary instead of a
    /// secondary equal to the primary, which would leave the alternation with one PBX.
    /// </remarks>
    internal static PbxAddress? DetermineSecondary(MachineConfig config, PbxAddress endedOn, int redirects, PbxLoginInfo info)
    {
        var candidate = redirects > 0 ? endedOn : info.Alternative ?? info.Master;
        if (candidate is null || candidate == config.Primary)
        {
            candidate = endedOn;
        }

        return Different(candidate, config.Primary);
    }

    // R3: follow within the hop limit, never in a loop, never to another scheme.
    private static void OnRedirected(MachineConfig config, int index, in InFlightAttempt attempt, RedirectOffered redirected, Decision decision)
    {
        ref var next = ref decision.State;
        var from = attempt.Target;
        var refusal = MachineTextCode.NotStarted;
        if (redirected.Scheme != attempt.Scheme)
        {
            refusal = MachineTextCode.RedirectSchemeRefused;
        }
        else if (attempt.Hops.Contains(redirected.Target))
        {
            refusal = MachineTextCode.RedirectLoopRefused;
        }
        else if (attempt.Hops.RedirectCount >= config.MaxRedirectHops)
        {
            refusal = MachineTextCode.RedirectHopLimitRefused;
        }

        if (refusal != MachineTextCode.NotStarted)
        {
            var why = new MachineText(refusal)
            {
                Pbx = from,
                Other = redirected.Target,
                SchemeFrom = attempt.Scheme,
                SchemeTo = redirected.Scheme,
                Hops = refusal == MachineTextCode.RedirectLoopRefused ? attempt.Hops : default,
                Number = refusal == MachineTextCode.RedirectHopLimitRefused ? config.MaxRedirectHops : 0,
            };
            decision.Add(MachineCommand.NoteOf(MachineNote.RedirectRefused, why));
            next.Attempts = next.Attempts.RemoveAt(index);
            NextCandidate(config, decision, why);
            return;
        }

        if (next.Attempts.Targets(redirected.Target))
        {
            // Never two attempts to one PBX: the attempt in flight there carries on for both.
            decision.Add(MachineCommand.NoteOf(MachineNote.RedirectJoined, new MachineText(MachineTextCode.RedirectJoined) { Pbx = from, Other = redirected.Target }));
            next.Attempts = next.Attempts.RemoveAt(index);
            return;
        }

        var id = next.NextId;
        decision.Add(MachineCommand.NoteOf(MachineNote.RedirectFollowed, new MachineText(MachineTextCode.RedirectFollowed) { Pbx = from, Other = redirected.Target }));
        decision.Add(MachineCommand.Connect(id, redirected.Target, redirected.Scheme, next.AttemptNumber, attempt.Hops.Length));
        next.Phase = RedundancyState.Redirected;
        next.Reason = new MachineText(MachineTextCode.Redirected) { Pbx = from, Other = redirected.Target };
        next.NextId = id + 1;
        next.Attempts = next.Attempts.ReplaceAt(index, new InFlightAttempt(id, redirected.Target, redirected.Scheme, attempt.Hops.Add(redirected.Target), Answered: false));
        ArmStagger(decision, redirected.Target);
    }

    private static void OnConnectionLost(MachineConfig config, ConnectionLost lost, Decision decision)
    {
        ref var next = ref decision.State;
        if (lost.ConnectionId != next.ConnectionId)
        {
            Ignore(decision, new MachineText(MachineTextCode.StaleConnectionLoss), stale: true);
            return;
        }

        var pbx = next.Current!;
        next.ConnectionId = null;
        if (lost.Loss.Kind == ConnectionLossKind.LoggedOut)
        {
            // The session is gone; reconnecting with it would only be refused.
            var reason = new MachineText(MachineTextCode.LoggedOut) { Pbx = pbx, Detail = lost.Loss.Reason };
            decision.Add(MachineCommand.NoteOf(MachineNote.LoggedOut, reason));
            decision.Add(MachineCommand.ResetBackoff());
            next.Phase = RedundancyState.Faulted;
            next.Reason = reason;
            return;
        }

        var standbyBack = lost.Loss.Kind == ConnectionLossKind.StandbyBack;
        var why = standbyBack
            ? new MachineText(MachineTextCode.StandbyBack) { Pbx = pbx }
            : new MachineText(MachineTextCode.ConnectionLost) { Pbx = pbx, Detail = lost.Loss.Reason };
        decision.Add(MachineCommand.NoteOf(standbyBack ? MachineNote.StandbyBack : MachineNote.ConnectionLost, why));
        if (standbyBack && next.Phase == RedundancyState.Connected && next.Home == pbx && next.HomeBefore is not null)
        {
            // R4: only a standby PBX sends StandbyBack, so the login taken for a home login was a standby login. Take back
            // what it rewrote (a login that rewrote nothing leaves nothing to take back); the login the StandbyBack leads
            // to determines the rest.
            CorrectHome(decision, pbx);
        }
        if (lost.Unstable && !standbyBack)
        {
            // Lost right after its login. Once may be chance: reconnect at once. The second time in a row, back off before
            // the reconnect (R7 resumes after it, current PBX first), growing with every further early loss, so that a
            // PBX that accepts and drops every login meets a backoff, not a storm. A StandbyBack is never delayed (R8).
            next.EarlyLosses++;
            if (next.EarlyLosses >= 2)
            {
                next.CurrentFirst = true;
                Backoff(decision, why with { Wrap = MachineTextWrap.Unstable });
                return;
            }
        }
        else if (!lost.Unstable)
        {
            // The connection proved stable: the next trouble starts from scratch.
            next.EarlyLosses = 0;
            decision.Add(MachineCommand.ResetBackoff());
        }

        // R8: the user's PBX is back; the normal procedure from the primary gets us there.
        // R7: otherwise the current PBX first, then the alternation from the primary. The first attempt after the loss
        // is spread by ReconnectJitter (the shell picks the wait).
        var from = decision.Commands.Count;
        StartRound(config, decision, standbyBack ? RoundCandidates(config, next) : LossCandidates(config, next, pbx), why);
        decision.Spread(from);
    }

    private static void CorrectHome(Decision decision, PbxAddress standby)
    {
        ref var next = ref decision.State;
        var before = next.HomeBefore!;
        next.Home = before.Home;
        next.Secondary = before.Secondary;
        next.HomeTopology = before.Topology;
        next.HomeBefore = null;
        decision.Add(MachineCommand.NoteOf(MachineNote.StandbyCorrected, new MachineText(MachineTextCode.StandbyCorrected) { Pbx = standby, Other = next.Home }));
        if (next.Home is { } home)
        {
            decision.Add(MachineCommand.Persist(next.Secondary, home, next.HomeTopology));
        }
    }

    private static void OnBackoffScheduled(BackoffScheduled scheduled, Decision decision)
    {
        ref var next = ref decision.State;
        if (next.Phase != RedundancyState.Failover || scheduled.TimerId != next.TimerId)
        {
            Ignore(decision, new MachineText(MachineTextCode.StaleBackoffSchedule), stale: true);
            return;
        }

        next.NextAttemptAt = scheduled.DueAt;
    }

    private static void OnBackoffElapsed(MachineConfig config, BackoffElapsed elapsed, Decision decision)
    {
        ref var next = ref decision.State;
        if (next.Phase != RedundancyState.Failover || elapsed.TimerId != next.TimerId)
        {
            Ignore(decision, new MachineText(MachineTextCode.StaleBackoffEnd), stale: true);
            return;
        }

        var currentFirst = next.CurrentFirst;
        next.TimerId = null;
        next.NextAttemptAt = null;
        next.CurrentFirst = false;
        if (currentFirst && next.Current is { } current)
        {
            StartRound(config, decision, LossCandidates(config, next, current), new MachineText(MachineTextCode.BackoffOverCurrentFirst) { Pbx = current });
        }
        else
        {
            StartRound(config, decision, RoundCandidates(config, next), new MachineText(MachineTextCode.BackoffOverFromPrimary));
        }
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
