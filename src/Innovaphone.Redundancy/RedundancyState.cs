namespace Innovaphone.Redundancy;

/// <summary>The public states of a <see cref="RedundancyManager"/>.</summary>
public enum RedundancyState
{
    /// <summary>Not started yet.</summary>
    Idle = 0,

    /// <summary>An attempt to the primary, the secondary or the current PBX is in progress.</summary>
    Connecting,

    /// <summary>Following a Redirect within one attempt.</summary>
    Redirected,

    /// <summary>Up on the user's PBX.</summary>
    Connected,

    /// <summary>Up on a PBX that acts as standby for the user's PBX.</summary>
    Standby,

    /// <summary>Down: a round of attempts failed; waiting (backoff) before the next round.</summary>
    Failover,

    /// <summary>Stopped by the PBX's answer (credentials rejected, session logged out) until the host starts again.</summary>
    Faulted,

    /// <summary>Stopped by the host.</summary>
    Stopped,
}

/// <summary>One change of <see cref="RedundancyState"/>, as published by <see cref="RedundancyManager.StateChanges"/>.</summary>
/// <param name="Previous">The state published before this one.</param>
/// <param name="Current">The new state.</param>
/// <param name="Reason">Why the state changed, for humans and logs (never contains secrets).</param>
/// <param name="Target">The PBX involved: the attempt's target while connecting, the connected PBX while up, else the current PBX.</param>
/// <param name="Attempt">The number of attempts made since the last successful login (0 while up or idle).</param>
/// <param name="NextAttemptAt">
/// In <see cref="RedundancyState.Failover"/>: when the next round of attempts starts, on the manager's
/// <see cref="TimeProvider"/>; otherwise null. The change is published once the timer for that time exists, so a fake
/// clock moved to this time from the notification starts the round.
/// </param>
/// <param name="Timestamp">When the change happened, from the manager's <see cref="TimeProvider"/>.</param>
public sealed record RedundancyStateChange(
    RedundancyState Previous,
    RedundancyState Current,
    string Reason,
    PbxAddress? Target,
    int Attempt,
    DateTimeOffset? NextAttemptAt,
    DateTimeOffset Timestamp);
