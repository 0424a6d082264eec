namespace Innovaphone.Redundancy;

/// <summary>
/// The PBX rejected the login (for example a wrong password). A rejection by the user's PBX faults the manager; one by
/// another PBX ends that attempt, and the third such rejection in a row faults (R9, docs/concepts.md).
/// </summary>
/// <param name="Code">The PBX's error code.</param>
/// <param name="Text">The PBX's error text (never contains credentials).</param>
public sealed record Rejected(int Code, string Text) : LoginOutcome;
