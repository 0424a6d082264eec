namespace Innovaphone.Redundancy.Softphone;

/// <summary>The physical location a softphone registers with, or none.</summary>
/// <remarks>
/// The library knows PBXes by address, not their configured locations: for <see cref="SoftphonePhysicalLocationSource.PrimaryPbx"/>
/// it names the primary PBX, and the softphone registers with that PBX's location.
/// </remarks>
public sealed record SoftphonePhysicalLocation
{
    private SoftphonePhysicalLocation(SoftphonePhysicalLocationSource source, string? phys, PbxAddress? pbx)
    {
        Source = source;
        Phys = phys;
        Pbx = pbx;
    }

    /// <summary>No physical location.</summary>
    public static SoftphonePhysicalLocation None { get; } = new(SoftphonePhysicalLocationSource.None, null, null);

    /// <summary>Where the location comes from.</summary>
    public SoftphonePhysicalLocationSource Source { get; }

    /// <summary>The explicit physical location (connInfo <c>phys</c>) when <see cref="Source"/> is <see cref="SoftphonePhysicalLocationSource.Explicit"/>; otherwise null.</summary>
    public string? Phys { get; }

    /// <summary>The primary PBX, whose location applies, when <see cref="Source"/> is <see cref="SoftphonePhysicalLocationSource.PrimaryPbx"/>; otherwise null.</summary>
    public PbxAddress? Pbx { get; }

    /// <summary>An explicitly configured physical location.</summary>
    /// <param name="phys">The location as connInfo <c>phys</c> carries it; not empty.</param>
    /// <exception cref="ArgumentException"><paramref name="phys"/> is empty or white space.</exception>
    public static SoftphonePhysicalLocation Explicit(string phys)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(phys);
        return new(SoftphonePhysicalLocationSource.Explicit, phys, null);
    }

    /// <summary>The location of the primary PBX <paramref name="primary"/>.</summary>
    /// <param name="primary">The primary PBX.</param>
    public static SoftphonePhysicalLocation OfPrimary(PbxAddress primary)
    {
        ArgumentNullException.ThrowIfNull(primary);
        return new(SoftphonePhysicalLocationSource.PrimaryPbx, null, primary);
    }

    /// <summary>Describes the location: <c>none</c>, <c>'phys'</c> or <c>the primary's (host/module)</c>.</summary>
    public override string ToString() => Source switch
    {
        SoftphonePhysicalLocationSource.Explicit => $"'{Phys}'",
        SoftphonePhysicalLocationSource.PrimaryPbx => $"the primary's ({Pbx})",
        _ => "none",
    };
}
