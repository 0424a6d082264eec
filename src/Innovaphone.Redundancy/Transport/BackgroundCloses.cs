using System.Collections.Concurrent;

namespace Innovaphone.Redundancy.Transport;

/// <summary>
/// Closes that run in the background, so that nothing on the failover path waits for a socket to close, and that
/// can still be waited for as a whole (stop, dispose). Each close must be bounded by itself (a close timeout).
/// </summary>
internal sealed class BackgroundCloses
{
    private readonly ConcurrentDictionary<Task, byte> _running = new();

    /// <summary>How many closes are still running.</summary>
    public int Count => _running.Count;

    /// <summary>Tracks <paramref name="close"/> until it ends. A close that faults is the close's own business: it is observed here, never rethrown.</summary>
    public void Add(Task close)
    {
        if (close.IsCompleted)
        {
            _ = close.Exception;
            return;
        }

        _running.TryAdd(close, 0);
        _ = close.ContinueWith(
            static (t, state) =>
            {
                _ = t.Exception;
                ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _);
            },
            _running,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Completes when every close added before the call has ended (successfully or not).</summary>
    public async Task WhenAllAsync(CancellationToken cancellationToken)
    {
        while (!_running.IsEmpty)
        {
            var pending = _running.Keys.ToArray();
            await Task.WhenAll(pending.Select(static t => t.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)))
                .WaitAsync(cancellationToken).ConfigureAwait(false);
            foreach (var done in pending)
            {
                _running.TryRemove(done, out _);
            }
        }
    }
}
