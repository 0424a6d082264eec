namespace Innovaphone.Redundancy.Testing;

/// <summary>The role of a PBX in a simulated installation; it decides where the PBX redirects to.</summary>
public enum SimulatedPbxRole
{
    /// <summary>The master: redirects a user to the PBX the user is configured on.</summary>
    Master,

    /// <summary>A slave: redirects every user who lives elsewhere to its master.</summary>
    Slave,

    /// <summary>An explicit standby PBX: redirects every user to the PBX it stands in for.</summary>
    Standby,
}
