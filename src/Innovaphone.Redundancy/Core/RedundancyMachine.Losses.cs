namespace Innovaphone.Redundancy.Core;

/// <summary>The machine, part three: losses (R7, R8 StandbyBack, the R4 correction) and the backoff between rounds (R6).</summary>
internal sealed partial class RedundancyMachine
{
    private void OnConnectionLost(ConnectionLost lost)
    {
        if (lost.ConnectionId != _state.ConnectionId)
        {
            Ignore(IgnoredEvent.StaleConnectionLoss);
            return;
        }

        var pbx = _state.Current!;
        var why = new MachineText.ConnectionEnded(pbx, lost.Loss);
        AddNote(why);
        _state = _state with { ConnectionId = null };
        if (lost.Loss.Kind == ConnectionLossKind.LoggedOut)
        {
            // The session is gone; reconnecting with it would only be refused.
            _commands.Add(new ResetBackoff());
            _state = _state with { Phase = RedundancyState.Faulted, Reason = why };
            return;
        }

        var standbyBack = lost.Loss.Kind == ConnectionLossKind.StandbyBack;
        if (standbyBack && _state.Phase == RedundancyState.Connected && _state.Home == pbx && _state.HomeBefore is not null)
        {
            // R4: only a standby PBX sends StandbyBack, so the login taken for a home login was a standby login. Take back
            // what it rewrote (a login that rewrote nothing leaves nothing to take back); the login the StandbyBack leads
            // to determines the rest.
            CorrectHome(pbx);
        }

        if (lost.Unstable && !standbyBack)
        {
            // Lost right after its login. Once may be chance: reconnect at once. The second time in a row, back off before
            // the reconnect (R7 resumes after it, current PBX first), growing with every further early loss, so that a
            // PBX that accepts and drops every login meets a backoff, not a storm. A StandbyBack is never delayed (R8).
            _state = _state with { EarlyLosses = _state.EarlyLosses + 1 };
            if (_state.EarlyLosses >= 2)
            {
                Backoff(why with { BackingOff = true }, currentFirst: true);
                return;
            }
        }
        else if (!lost.Unstable)
        {
            // The connection proved stable: the next trouble starts from scratch.
            _state = _state with { EarlyLosses = 0 };
            _commands.Add(new ResetBackoff());
        }

        // R8: the user's PBX is back; the normal procedure from the primary gets us there.
        // R7: otherwise the current PBX first, then the alternation from the primary. The first attempt after the loss
        // is spread by ReconnectJitter (the shell picks the wait).
        StartRound(standbyBack ? RoundCandidates() : LossCandidates(pbx), why, spread: true);
    }

    private void CorrectHome(PbxAddress standby)
    {
        var before = _state.HomeBefore!;
        _state = _state with { Home = before.Home, Secondary = before.Secondary, HomeTopology = before.Topology, HomeBefore = null };
        AddNote(new MachineText.StandbyCorrected(standby, before.Home));
        if (before.Home is { } home)
        {
            _commands.Add(new Persist(home, before.Secondary, before.Topology));
        }
    }

    private void OnBackoffScheduled(BackoffScheduled scheduled)
    {
        if (_state.Phase != RedundancyState.Failover || scheduled.TimerId != _state.TimerId)
        {
            Ignore(IgnoredEvent.StaleBackoffSchedule);
            return;
        }

        _state = _state with { NextAttemptAt = scheduled.DueAt };
    }

    private void OnBackoffElapsed(BackoffElapsed elapsed)
    {
        if (_state.Phase != RedundancyState.Failover || elapsed.TimerId != _state.TimerId)
        {
            Ignore(IgnoredEvent.StaleBackoffEnd);
            return;
        }

        var currentFirst = _state.CurrentFirst ? _state.Current : null;
        _state = _state with { TimerId = null, NextAttemptAt = null, CurrentFirst = false };
        var candidates = currentFirst is null ? RoundCandidates() : LossCandidates(currentFirst);
        StartRound(candidates, new MachineText.BackoffOver(currentFirst));
    }
}
