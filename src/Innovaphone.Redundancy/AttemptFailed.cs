namespace Innovaphone.Redundancy;

/// <summary>The attempt failed: the PBX is unreachable, too slow, or answered something unusable.</summary>
/// <param name="Kind">Why, in one word.</param>
/// <param name="Reason">A human-readable reason for logs (never contains credentials).</param>
public sealed record AttemptFailed(AttemptFailureKind Kind, string Reason) : LoginOutcome;
