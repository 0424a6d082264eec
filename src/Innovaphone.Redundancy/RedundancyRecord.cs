namespace Innovaphone.Redundancy;

/// <summary>What is kept between runs: the result of the last non-standby login.</summary>
/// <param name="Primary">The configured primary PBX the record was determined for.</param>
/// <param name="Secondary">The secondary PBX, if one was determined.</param>
/// <param name="Home">The PBX the user was logged in to at the last non-standby login (the user's PBX).</param>
public sealed record RedundancyRecord(PbxAddress Primary, PbxAddress? Secondary, PbxAddress? Home)
{
    /// <summary>
    /// The explicit standby PBX the user's PBX named at that login (<c>info.alt</c>), if any. With <see cref="HomeMaster"/>
    /// it tells, after a restart, which PBXes can stand in for the user's PBX (standby inference, R4).
    /// </summary>
    public PbxAddress? HomeAlternative { get; init; }

    /// <summary>The master the user's PBX named at that login (<c>info.master</c>, present on a slave), if any.</summary>
    public PbxAddress? HomeMaster { get; init; }
}
