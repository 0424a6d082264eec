using System.Collections.Immutable;

namespace Innovaphone.Redundancy.Core;

/// <summary>The fixed inputs of the machine: what the host configured.</summary>
internal sealed record MachineConfig(PbxAddress Primary, PbxScheme Scheme, int MaxRedirectHops, string? Phys);

/// <summary>
/// The whole state of the redundancy machine, immutable: <see cref="RedundancyMachine.Decide"/> returns the next one.
/// Ids for attempts and timers come from one sequence (<see cref="NextId"/>), so that a late event of an abandoned
/// attempt or timer can never be mistaken for the current one.
/// </summary>
internal sealed record MachineState
{
    public static MachineState Initial { get; } = new();

    public RedundancyState Phase { get; init; } = RedundancyState.Idle;

    /// <summary>Why the machine is in <see cref="Phase"/>; the shell turns it into text when it publishes or logs.</summary>
    public MachineText Reason { get; init; } = new MachineText.NotStarted();

    public PbxAddress? Secondary { get; init; }

    /// <summary>The user's PBX as found at the last non-standby login (for standby inference, R4).</summary>
    public PbxAddress? Home { get; init; }

    /// <summary>
    /// The topology hints (<c>alt</c>, <c>master</c>) the user's PBX gave at that login: which PBXes can stand in for it
    /// (R4 inference). <see langword="null"/> when not known (never logged in there, or it named neither).
    /// </summary>
    public PbxLoginInfo? HomeTopology { get; init; }

    /// <summary>
    /// What <see cref="Home"/>, <see cref="Secondary"/> and <see cref="HomeTopology"/> were before the login of the live
    /// connection rewrote them (null when it rewrote nothing), so that a StandbyBack from that PBX can take back an
    /// inference it proved wrong (R4).
    /// </summary>
    public HomeSnapshot? HomeBefore { get; init; }

    /// <summary>Logins rejected since the last login by PBXes other than the user's (R9); the third faults.</summary>
    public int RejectionsElsewhere { get; init; }

    /// <summary>The PBX of the live connection; while down, the PBX last connected to (connInfo <c>cur</c>).</summary>
    public PbxAddress? Current { get; init; }

    public long NextId { get; init; } = 1;

    /// <summary>
    /// The transport calls in flight, in the order they started (staggered attempts: at most one per PBX of the round,
    /// so at most three). A redirect keeps the place of the attempt it continues.
    /// </summary>
    public ImmutableArray<InFlightAttempt> Attempts { get; init; } = [];

    /// <summary>The PBXes still to try in this round, in order.</summary>
    public ImmutableArray<PbxAddress> Pending { get; init; } = [];

    /// <summary>
    /// The stagger timer pending while candidates of the round wait (R7 staggered attempts): when it elapses and no
    /// attempt in flight has answered, the next candidate starts beside them.
    /// </summary>
    public long? StaggerTimerId { get; init; }

    /// <summary>Connections lost right after their login (MinStableConnection), one after the other; the second one backs off.</summary>
    public int EarlyLosses { get; init; }

    /// <summary>Attempts started since the last successful login.</summary>
    public int AttemptNumber { get; init; }

    /// <summary>The attempt id whose connection is live, if any.</summary>
    public long? ConnectionId { get; init; }

    /// <summary>The backoff timer pending in <see cref="RedundancyState.Failover"/>, if any.</summary>
    public long? TimerId { get; init; }

    /// <summary>Whether the round after the pending backoff starts at the current PBX (R7 after an unstable connection).</summary>
    public bool CurrentFirst { get; init; }

    /// <summary>When the pending backoff ends, once the shell has scheduled it.</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }

    /// <summary>The most recently started attempt in flight (the one a state change is about), if any.</summary>
    public InFlightAttempt? Lead
    {
        get
        {
            InFlightAttempt? lead = null;
            foreach (var attempt in Attempts)
            {
                if (lead is null || attempt.Id > lead.Id)
                {
                    lead = attempt;
                }
            }

            return lead;
        }
    }

    /// <summary>The id of <see cref="Lead"/>.</summary>
    public long? AttemptId => Lead?.Id;

    /// <summary>The PBX of <see cref="Lead"/>.</summary>
    public PbxAddress? AttemptTarget => Lead?.Target;

    public bool IsUp => Phase is RedundancyState.Connected or RedundancyState.Standby;

    /// <summary>
    /// Whether the phase is ready to be announced: Failover only once its next attempt time is known
    /// (<see cref="BackoffScheduled"/>), so that a host that sees Failover can move a clock to NextAttemptAt.
    /// </summary>
    public bool IsAnnounceable => !(Phase == RedundancyState.Failover && NextAttemptAt is null);

    /// <summary>The PBX a state change is about.</summary>
    public PbxAddress? Target => AttemptTarget ?? Current;

    /// <summary>The attempt in flight with id <paramref name="id"/>, if any.</summary>
    public InFlightAttempt? FindAttempt(long id)
    {
        foreach (var attempt in Attempts)
        {
            if (attempt.Id == id)
            {
                return attempt;
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="pbx"/> is the target of an attempt in flight.</summary>
    public bool IsInFlight(PbxAddress pbx)
    {
        foreach (var attempt in Attempts)
        {
            if (attempt.Target == pbx)
            {
                return true;
            }
        }

        return false;
    }

    public ConnInfo ToConnInfo(MachineConfig config) =>
        new(IsUp, Phase == RedundancyState.Standby, Current, config.Primary, Secondary, config.Phys);
}

/// <summary>
/// One transport call in flight: its id, where it is (first target or latest redirect target), with which scheme, the
/// PBXes it visited (<paramref name="Hops"/>: its first target, then each redirect target), and whether that PBX has answered.
/// </summary>
internal sealed record InFlightAttempt(long Id, PbxAddress Target, PbxScheme Scheme, ImmutableArray<PbxAddress> Hops, bool Answered = false)
{
    /// <summary>The redirects this attempt followed so far.</summary>
    public int Redirects => Hops.Length - 1;
}

/// <summary>The user's PBX, the secondary and the home's topology hints as they were before a login rewrote them.</summary>
internal sealed record HomeSnapshot(PbxAddress? Home, PbxAddress? Secondary, PbxLoginInfo? Topology);
