using System.Collections.Concurrent;

namespace Innovaphone.Redundancy.Persistence;

/// <summary>Keeps records in memory for the life of the process. The default store.</summary>
public sealed class InMemoryRedundancyStore : IRedundancyStore
{
    private readonly ConcurrentDictionary<string, RedundancyRecord> _records = new(StringComparer.Ordinal);

    /// <inheritdoc/>
    public ValueTask<RedundancyRecord?> LoadAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_records.TryGetValue(key, out var record) ? record : null);
    }

    /// <inheritdoc/>
    public ValueTask SaveAsync(string key, RedundancyRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(record);
        cancellationToken.ThrowIfCancellationRequested();
        _records[key] = record;
        return ValueTask.CompletedTask;
    }
}
