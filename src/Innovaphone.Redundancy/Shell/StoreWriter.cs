namespace Innovaphone.Redundancy.Shell;

/// <summary>
/// Saves records in the background, so that a slow store (a disk that stalls, a network share) never holds up
/// the processing loop and with it failover. Saves never overlap; when several records queue up behind a slow save,
/// only the latest is written, since each record replaces the one before it.
/// </summary>
internal sealed class StoreWriter(IRedundancyStore store, string key, Action<Exception> onSaveFailed, CancellationToken lifetime)
{
    private readonly object _gate = new();
    private RedundancyRecord? _pending;
    private Task _writing = Task.CompletedTask;
    private bool _active;

    /// <summary>Queues <paramref name="record"/> and returns at once.</summary>
    public void Save(RedundancyRecord record)
    {
        lock (_gate)
        {
            _pending = record;
            if (!_active)
            {
                _active = true;
                _writing = Task.Run(WriteAsync, CancellationToken.None);
            }
        }
    }

    /// <summary>Completes once every record queued before the call is saved (or its save has failed).</summary>
    public Task FlushAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            // The writer ends only when nothing is pending, so the task running now covers every record queued so far.
            return _writing.WaitAsync(cancellationToken);
        }
    }

    private async Task WriteAsync()
    {
        while (true)
        {
            RedundancyRecord record;
            lock (_gate)
            {
                if (_pending is null)
                {
                    _active = false;
                    return;
                }

                record = _pending;
                _pending = null;
            }

#pragma warning disable CA1031 // A store failure loses the record, not the connection; and the writer must go on.
            try
            {
                await store.SaveAsync(key, record, lifetime).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                try
                {
                    onSaveFailed(ex);
                }
                catch (Exception)
                {
                    // A logger that throws must not leave the writer marked active with nobody writing.
                }
            }
#pragma warning restore CA1031
        }
    }
}
