namespace Innovaphone.Redundancy;

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
