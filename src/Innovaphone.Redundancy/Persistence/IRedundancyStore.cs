namespace Innovaphone.Redundancy.Persistence;

/// <summary>
/// Keeps what rule R5 determines (primary, secondary and the user's home PBX) across restarts,
/// for later standby cases. One record per configured primary and user.
/// </summary>
/// <remarks>
/// Implementations must be safe to call from one caller at a time (the manager never overlaps calls).
/// A record holds no secret. A store that cannot read its data returns <see langword="null"/>
/// (treated as "nothing known") rather than throwing; the manager logs and survives exceptions anyway.
/// </remarks>
public interface IRedundancyStore
{
    /// <summary>Loads the record for <paramref name="key"/>, or <see langword="null"/> if none is kept.</summary>
    ValueTask<RedundancyRecord?> LoadAsync(string key, CancellationToken cancellationToken);

    /// <summary>Saves <paramref name="record"/> under <paramref name="key"/>, replacing what was there.</summary>
    ValueTask SaveAsync(string key, RedundancyRecord record, CancellationToken cancellationToken);
}

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
