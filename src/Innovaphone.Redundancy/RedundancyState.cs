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
