namespace Innovaphone.Redundancy.Core;

/// <summary>The machine, part two: how attempts end (R3 redirects, R4 standby inference, R5 determination, R7 staggering, R9 rejections).</summary>
internal static partial class RedundancyMachine
{
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
}
