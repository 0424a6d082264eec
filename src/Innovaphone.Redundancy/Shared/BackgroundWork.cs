using System.Collections.Concurrent;

namespace Innovaphone.Redundancy.Shared;

/// <summary>
/// Work that runs in the background (a socket's close, a transport call the manager stopped waiting for), so that
/// nothing on the failover path waits for it, and that can still be waited for as a whole (stop, dispose). The one
/// tracker of the manager and of the WebSocket transport. A fault never reaches the waiter: it goes to
/// <c>onFault</c>, or is only observed. Each piece of work must be bounded by itself (a close timeout, a cancellation).
/// </summary>
/// <param name="onFault">Told of a fault of tracked work; <see langword="null"/>: faults are observed and dropped.</param>
internal sealed class BackgroundWork(Action<Exception>? onFault = null)
{
    private readonly ConcurrentDictionary<Task, byte> _running = new();

    /// <summary>How much is running.</summary>
    public int Count => _running.Count;

    /// <summary>Tracks <paramref name="work"/> until it ends.</summary>
    public void Add(Task work)
    {
        if (work.IsCompleted)
        {
            Report(work);
            return;
        }

        _running.TryAdd(work, 0);
        _ = work.ContinueWith(
            static (t, state) =>
            {
                var self = (BackgroundWork)state!;
                self.Report(t);
                self._running.TryRemove(t, out _);
            },
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Completes when everything tracked has ended, including what is added meanwhile; never faults.</summary>
    /// <param name="cancellationToken">Stops waiting (the work goes on).</param>
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

    /// <summary>Stops tracking what is still running (given up on: it goes on unobserved by the waiter).</summary>
    public void Forget() => _running.Clear();

    private void Report(Task task)
    {
        if (task.Exception is { } fault)
        {
            onFault?.Invoke(fault.InnerException ?? fault);
        }
    }
}
