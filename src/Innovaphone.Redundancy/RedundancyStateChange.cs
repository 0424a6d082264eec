namespace Innovaphone.Redundancy;

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
