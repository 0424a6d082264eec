namespace Innovaphone.Redundancy.Core;

/// <summary>The machine, part two: how attempts end (R3 redirects, R4 standby inference, R5 determination, R7 staggering, R9 rejections).</summary>
internal sealed partial class RedundancyMachine
{
    private void OnAttemptCompleted(AttemptCompleted completed)
    {
        if (_state.FindAttempt(completed.AttemptId) is not { } attempt)
        {
            // A late answer of an attempt that was cancelled or superseded (or lost a race); a login it brought is closed.
            Ignore(IgnoredEvent.LateAttemptResult, completed.AttemptId);
            if (completed.Outcome is LoggedIn)
            {
                _commands.Add(new CloseConnection(completed.AttemptId));
            }

            return;
        }

        switch (completed.Outcome)
        {
            case LoggedIn login:
                // The first login of the round wins; the others are cancelled (a standby winner comes home by StandbyBack).
                CancelAttempts(except: attempt.Id);
                OnLoggedIn(attempt, login.Info);
                break;

            case Redirected redirect:
                OnRedirected(attempt, redirect);
                break;

            case Rejected rejected:
                OnRejected(attempt, rejected);
                break;

            case AttemptFailed failed:
                var why = new MachineText.AttemptFailure(attempt.Target, failed);
                AddNote(why);
                _state = _state with { Attempts = _state.Attempts.Remove(attempt) };
                NextCandidate(attempt.Target, why);
                break;

            default:
                throw new ArgumentOutOfRangeException(nameof(completed), completed.Outcome.GetType().Name, "Unknown login outcome.");
        }
    }

    // R9. The user's PBX (or, while it is not known, the first PBX of an attempt, which judged our credentials) decides:
    // its rejection (a wrong password) faults at once. Another PBX's rejection (a standby, the primary when it is not the
    // user's PBX, a redirect target after a redirect that proved the credentials) says that PBX will not serve us now:
    // the round goes on, and only the third such rejection in a row faults, so that a wrong password known only there
    // costs at most three rejected logins.
    private void OnRejected(InFlightAttempt attempt, Rejected rejected)
    {
        var home = _state.Home;
        var verdict = attempt.Target == home || (home is null && attempt.Redirects == 0);
        if (!verdict && _state.RejectionsElsewhere + 1 < MaxRejectionsElsewhere)
        {
            var why = new MachineText.LoginRejectedElsewhere(attempt.Target, home, rejected);
            AddNote(why);
            _state = _state with { RejectionsElsewhere = _state.RejectionsElsewhere + 1, Attempts = _state.Attempts.Remove(attempt) };
            NextCandidate(attempt.Target, why);
            return;
        }

        var reason = new MachineText.LoginRejected(attempt.Target, rejected, Repeatedly: !verdict);
        CancelAttempts(except: attempt.Id);
        AddNote(reason);
        _commands.Add(new ResetBackoff());
        Settle(RedundancyState.Faulted, reason);
    }

    // Staggered attempts: the PBX of an attempt answered, so it is alive and keeps the floor.
    private void OnAttemptAnswered(AttemptAnswered answered)
    {
        if (_state.FindAttempt(answered.AttemptId) is not { } attempt)
        {
            Ignore(IgnoredEvent.StaleAnswer, answered.AttemptId);
            return;
        }

        if (!attempt.Answered)
        {
            _state = _state with { Attempts = _state.Attempts.Replace(attempt, attempt with { Answered = true }) };
        }
    }

    // Staggered attempts (R7): the attempts in flight stayed silent for the stagger delay; the next candidate starts beside them.
    private void OnStaggerElapsed(StaggerElapsed elapsed)
    {
        if (elapsed.TimerId != _state.StaggerTimerId)
        {
            Ignore(IgnoredEvent.StaleStagger);
            return;
        }

        _state = _state with { StaggerTimerId = null };
        if (_state.Attempts.Any(attempt => attempt.Answered))
        {
            // Only a silent candidate is raced: one that answered (a two-factor prompt above all) keeps the floor; if it
            // fails, the next candidate starts at once.
            return;
        }

        var pending = Untried(_state.Pending);
        if (pending.IsEmpty)
        {
            _state = _state with { Pending = [] };
            return;
        }

        var why = new MachineText.AttemptStaggered(_state.Lead!.Target, pending[0]);
        AddNote(why);
        BeginAttempt(pending[0], pending.RemoveAt(0), why);
    }

    private void OnLoggedIn(InFlightAttempt attempt, PbxLoginInfo info)
    {
        var pbx = attempt.Target;
        var before = _state;

        // R4: the PBX says whether it acts as standby (an explicit false wins); when it does not, the evidence decides.
        var evidence = info.Standby is bool said ? (said ? StandbyEvidence.SaidStandby : StandbyEvidence.SaidHome) : InferStandby(before, attempt, info);
        var standby = evidence is StandbyEvidence.SaidStandby or StandbyEvidence.HomeTopology or StandbyEvidence.DirectElsewhere;

        // The backoff is not reset here but when the connection proves stable (see OnConnectionLost), so that a
        // PBX that accepts logins and drops them at once meets a growing backoff instead of a reconnect storm.
        _commands.Add(new AdoptConnection(attempt.Id));
        if (standby)
        {
            // R5: a standby login never changes pri/sec.
            var standbyLogin = new MachineText.StandbyLogin(pbx, before.Home, evidence);
            AddNote(standbyLogin);
            Adopt(attempt, RedundancyState.Standby, standbyLogin, homeBefore: null);
            return;
        }

        var secondary = DetermineSecondary(_config, pbx, attempt.Redirects, info);
        var topology = Topology(info.Alternative, info.Master);
        var homeLogin = new MachineText.HomeLogin(pbx, attempt.Redirects);
        AddNote(homeLogin);
        AddNote(new MachineText.Determined(_config.Primary, secondary, pbx));
        HomeSnapshot? homeBefore = null;
        if (secondary != before.Secondary || pbx != before.Home || topology != before.HomeTopology)
        {
            _commands.Add(new Persist(pbx, secondary, topology));
            homeBefore = new HomeSnapshot(before.Home, before.Secondary, before.HomeTopology);
        }

        Adopt(attempt, RedundancyState.Connected, homeLogin, homeBefore);
        _state = _state with { Secondary = secondary, Home = pbx, HomeTopology = topology };
    }

    // The login of `attempt` is the live connection now.
    private void Adopt(InFlightAttempt attempt, RedundancyState phase, MachineText reason, HomeSnapshot? homeBefore)
    {
        Settle(phase, reason);
        _state = _state with
        {
            Current = attempt.Target,
            ConnectionId = attempt.Id,
            AttemptNumber = 0,
            RejectionsElsewhere = 0,
            HomeBefore = homeBefore,
        };
    }

    /// <summary>
    /// R4 without a <c>standby</c> flag: whether the login of <paramref name="attempt"/> is a standby login, from the
    /// evidence the protocol gives (docs/concepts.md "Standby inference"). In order:
    /// the user's PBX is not known, or this is it: a home login.
    /// A redirect chain that passed through the user's PBX: that PBX is up and sent the user on, so the chain ended at
    /// the user's new PBX.
    /// The user's PBX named its standby (<c>alt</c>) and master at its last login: a PBX that can stand in for it by the
    /// concept (its standby, its master, or a slave of it when it is a master) keeps the user as standby; any other PBX
    /// is taken for the user's PBX (moved by the administrator). Where that is wrong (a PBX that keeps the user only
    /// because it lost its own redirect target), the PBX's StandbyBack takes it back.
    /// Without those hints: the end of a redirect chain is the user's PBX; a PBX reached directly is a standby.
    /// </summary>
    internal static StandbyEvidence InferStandby(MachineState state, InFlightAttempt attempt, PbxLoginInfo info)
    {
        var pbx = attempt.Target;
        var home = state.Home;
        if (home is null || home == pbx)
        {
            return StandbyEvidence.NoOtherHome;
        }

        var redirected = attempt.Redirects > 0;
        if (redirected && attempt.Hops.Contains(home))
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
    /// that names no PBX or the primary itself, the PBX we ended on. A redirect that ended on the primary itself (sent
    /// back home by another PBX: the secondary, tried beside a slow primary, or a PBX the user was moved from) names no
    /// second PBX either, so the standby rule decides. The secondary is never the primary.
    /// </summary>
    /// <remarks>
    /// The fallbacks keep both cases of docs/concepts.md "Interpretations": reached directly at a slave while the
    /// primary (another slave) is down, its master becomes the secondary, so that the user stays served when that slave
    /// fails too; reached directly at a slave whose master is the primary, the slave stays the secondary instead of a
    /// secondary equal to the primary, which would leave the alternation with one PBX. Without the standby rule after a
    /// redirect to the primary, a user sent home by the standby would lose the standby and retry only the primary when
    /// it fails next.
    /// </remarks>
    internal static PbxAddress? DetermineSecondary(MachineConfig config, PbxAddress endedOn, int redirects, PbxLoginInfo info)
    {
        var candidate = redirects > 0 && endedOn != config.Primary ? endedOn : info.Alternative ?? info.Master;
        if (candidate is null || candidate == config.Primary)
        {
            candidate = endedOn;
        }

        return Different(candidate, config.Primary);
    }

    // R3: follow within the hop limit, never in a loop, never to another scheme.
    private void OnRedirected(InFlightAttempt attempt, Redirected redirect)
    {
        var (from, to) = (attempt.Target, redirect.Target);
        MachineText.RedirectRefused? refused =
            redirect.Scheme != attempt.Scheme ? new MachineText.RedirectSchemeRefused(from, to, attempt.Scheme, redirect.Scheme)
            : attempt.Hops.Contains(to) ? new MachineText.RedirectLoopRefused(from, to, attempt.Hops)
            : attempt.Redirects >= _config.MaxRedirectHops ? new MachineText.RedirectHopLimitRefused(from, to, _config.MaxRedirectHops)
            : null;
        if (refused is not null)
        {
            AddNote(refused);
            _state = _state with { Attempts = _state.Attempts.Remove(attempt) };
            NextCandidate(from, refused);
            return;
        }

        if (_state.IsInFlight(to))
        {
            // Never two attempts to one PBX: the attempt in flight there carries on for both.
            AddNote(new MachineText.RedirectJoined(from, to));
            _state = _state with { Attempts = _state.Attempts.Remove(attempt) };
            return;
        }

        var id = _state.NextId;
        var followed = new MachineText.RedirectFollowed(from, to);
        AddNote(followed);
        _commands.Add(new Connect(id, to, redirect.Scheme, _state.AttemptNumber, Hop: attempt.Hops.Length));
        _state = _state with
        {
            Phase = RedundancyState.Redirected,
            Reason = followed,
            NextId = id + 1,
            Attempts = _state.Attempts.Replace(attempt, new InFlightAttempt(id, to, redirect.Scheme, attempt.Hops.Add(to))),
        };
        ArmStagger(to);
    }
}
