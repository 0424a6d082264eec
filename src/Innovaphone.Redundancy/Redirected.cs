namespace Innovaphone.Redundancy;

/// <summary>The PBX accepted the credentials but the user lives elsewhere: log in again at <paramref name="Target"/>.</summary>
/// <param name="Target">The PBX to follow to.</param>
/// <param name="Scheme">The scheme the redirect offers for the target.</param>
public sealed record Redirected(PbxAddress Target, PbxScheme Scheme) : LoginOutcome;
