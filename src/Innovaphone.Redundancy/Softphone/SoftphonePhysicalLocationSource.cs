namespace Innovaphone.Redundancy.Softphone;

/// <summary>Where a softphone's physical location comes from.</summary>
public enum SoftphonePhysicalLocationSource
{
    /// <summary>The softphone registers without a physical location.</summary>
    None = 0,

    /// <summary>The physical location configured explicitly in the client (connInfo <c>phys</c>).</summary>
    Explicit = 1,

    /// <summary>The location of the primary PBX (launcher-style host, "No physical location" off).</summary>
    PrimaryPbx = 2,
}
