namespace Innovaphone.Redundancy.Core;

/// <summary>The machine, part three: losses (R7, R8 StandbyBack, the R4 correction) and the backoff between rounds (R6).</summary>
internal static partial class RedundancyMachine
{
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
}
