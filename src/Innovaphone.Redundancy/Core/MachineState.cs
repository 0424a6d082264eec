namespace Innovaphone.Redundancy.Core;

/// <summary>The fixed inputs of the machine: what the host configured.</summary>
internal sealed record MachineConfig(PbxAddress Primary, PbxScheme Scheme, int MaxRedirectHops, string? Phys);

/// <summary>
/// The whole state of the redundancy machine. A value: <see cref="RedundancyMachine.Decide"/> writes the next state
/// over the one its caller hands it, field by field, and touches no other copy; whoever holds a copy owns it. A value
/// type, so that a transition costs no allocation (the machine runs on every event of every manager); its members are
/// settable so that the machine can write the next state in place instead of copying it from call to call (copies of
/// a struct holding references cost a write barrier each).
/// Ids for attempts and timers come from one sequence (<see cref="NextId"/>), so that a late event of an
/// abandoned attempt or timer can never be mistaken for the current one.
/// </summary>
internal record struct MachineState
{
    public MachineState()
    {
    }

    public static MachineState Initial { get; } = new();

    public RedundancyState Phase { get; set; } = RedundancyState.Idle;

    /// <summary>Why the machine is in <see cref="Phase"/>; the shell turns it into text when it publishes or logs.</summary>
    public MachineText Reason { get; set; } = new(MachineTextCode.NotStarted);

    public PbxAddress? Secondary { get; set; }

    /// <summary>The user's PBX as found at the last non-standby login (for standby inference, R4).</summary>
    public PbxAddress? Home { get; set; }

    /// <summary>
    /// The topology hints (<c>alt</c>, <c>master</c>) the user's PBX gave at that login: which PBXes can stand in for it
    /// (R4 inference). <see langword="null"/> when not known (never logged in there, or it named neither).
    /// </summary>
    public PbxLoginInfo? HomeTopology { get; set; }

    /// <summary>
    /// What <see cref="Home"/>, <see cref="Secondary"/> and <see cref="HomeTopology"/> were before the login of the live
    /// connection rewrote them (null when it rewrote nothing), so that a StandbyBack from that PBX can take back an
    /// inference it proved wrong (R4).
    /// </summary>
    public HomeSnapshot? HomeBefore { get; set; }

    /// <summary>Logins rejected since the last login by PBXes other than the user's (R9); the third faults.</summary>
    public int RejectionsElsewhere { get; set; }

    /// <summary>The PBX of the live connection; while down, the PBX last connected to (connInfo <c>cur</c>).</summary>
    public PbxAddress? Current { get; set; }

    public long NextId { get; set; } = 1;

    /// <summary>
    /// The transport calls in flight (staggered attempts: at most one per PBX of the round, so at most three), each with
    /// its target, scheme, redirect hops and whether its PBX has answered.
    /// </summary>
    public AttemptSet Attempts { get; set; }

    /// <summary>The most recently started attempt in flight (the one a state change is about), if any.</summary>
    public readonly long? AttemptId => Attempts.Count == 0 ? null : Attempts.Lead.Id;

    /// <summary>The PBX of <see cref="AttemptId"/>.</summary>
    public readonly PbxAddress? AttemptTarget => Attempts.Count == 0 ? null : Attempts.Lead.Target;

    /// <summary>The PBXes visited by <see cref="AttemptId"/>: its first target, then each redirect target.</summary>
    public readonly HopPath Hops => Attempts.Count == 0 ? default : Attempts.Lead.Hops;

    /// <summary>The PBXes still to try in this round, in order.</summary>
    public PbxRound Pending { get; set; }

    /// <summary>
    /// The stagger timer pending while candidates of the round wait (R7 staggered attempts): when it elapses and no
    /// attempt in flight has answered, the next candidate starts beside them.
    /// </summary>
    public long? StaggerTimerId { get; set; }

    /// <summary>Connections lost right after their login (MinStableConnection), one after the other; the second one backs off.</summary>
    public int EarlyLosses { get; set; }

    /// <summary>Attempts started since the last successful login.</summary>
    public int AttemptNumber { get; set; }

    /// <summary>The attempt id whose connection is live, if any.</summary>
    public long? ConnectionId { get; set; }

    /// <summary>The backoff timer pending in <see cref="RedundancyState.Failover"/>, if any.</summary>
    public long? TimerId { get; set; }

    /// <summary>Whether the round after the pending backoff starts at the current PBX (R7 after an unstable connection).</summary>
    public bool CurrentFirst { get; set; }

    /// <summary>When the pending backoff ends, once the shell has scheduled it.</summary>
    public DateTimeOffset? NextAttemptAt { get; set; }

    public readonly bool IsUp => Phase is RedundancyState.Connected or RedundancyState.Standby;

    /// <summary>
    /// Whether the phase is ready to be announced: Failover only once its next attempt time is known
    /// (<see cref="BackoffScheduled"/>), so that a host that sees Failover can move a clock to NextAttemptAt.
    /// </summary>
    public readonly bool IsAnnounceable => !(Phase == RedundancyState.Failover && NextAttemptAt is null);

    /// <summary>The PBX a state change is about.</summary>
    public readonly PbxAddress? Target => AttemptTarget ?? Current;

    /// <summary>Whether <paramref name="pbx"/> is the target of an attempt in flight.</summary>
    public readonly bool IsInFlight(PbxAddress pbx) => Attempts.Targets(pbx);

    public readonly ConnInfo ToConnInfo(MachineConfig config) =>
        new(IsUp, Phase == RedundancyState.Standby, Current, config.Primary, Secondary, config.Phys);
}

/// <summary>The user's PBX, the secondary and the home's topology hints as they were before a login rewrote them.</summary>
internal sealed record HomeSnapshot(PbxAddress? Home, PbxAddress? Secondary, PbxLoginInfo? Topology);
