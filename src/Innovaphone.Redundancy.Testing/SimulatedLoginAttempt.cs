namespace Innovaphone.Redundancy.Testing;

/// <summary>One login attempt seen by a <see cref="SimulatedPbxSystem"/>, for assertions and benchmarks.</summary>
/// <param name="Time">When the PBX decided, from the system's <see cref="TimeProvider"/>.</param>
/// <param name="Pbx">The address the client tried.</param>
/// <param name="User">The user, or <see langword="null"/> when a session login named an unknown session.</param>
/// <param name="Outcome">What the PBX did.</param>
public sealed record SimulatedLoginAttempt(DateTimeOffset Time, PbxAddress Pbx, string? User, SimulatedAttemptOutcome Outcome);
