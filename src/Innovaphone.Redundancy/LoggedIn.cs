namespace Innovaphone.Redundancy;

/// <summary>Logged in: the connection is up.</summary>
/// <param name="Connection">The live connection; the manager owns and disposes it.</param>
/// <param name="Info">What the PBX told about itself and the installation.</param>
public sealed record LoggedIn(IPbxConnection Connection, PbxLoginInfo Info) : LoginOutcome;
