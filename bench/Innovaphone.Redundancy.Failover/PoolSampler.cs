using System.Diagnostics;

namespace Innovaphone.Redundancy.Failover;

/// <summary>
/// What held the client's own work back during a failover window: the thread pool's backlog (sampled every 50 ms on a
/// thread of its own, so that a starved pool cannot delay the sampling) and the time the runtime paused for garbage
/// collection. A group of reconnect timers that fire late together shows up here as a backlog or as a pause.
/// </summary>
internal sealed class PoolSampler : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly TimeSpan _pauseAtStart = GC.GetTotalPauseDuration();
    private readonly int _gen2AtStart = GC.CollectionCount(2);
    private readonly int _gen1AtStart = GC.CollectionCount(1);
    private readonly long _allocatedAtStart = GC.GetTotalAllocatedBytes();
    private readonly ManualResetEventSlim _stop = new();
    private readonly Thread _thread;
    private readonly int _gen0AtStart = GC.CollectionCount(0);
    private long _maxPending;
    private double _maxPendingAtMs;
    private double _maxStallMs;
    private double _maxStallAtMs;

    public PoolSampler()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "pool sampler" };
        _thread.Start();
    }

    /// <summary>Stops sampling and returns what it saw since it was created.</summary>
    public Window Stop()
    {
        _stop.Set();
        _thread.Join();
        return new Window(_maxPending, _maxPendingAtMs, (GC.GetTotalPauseDuration() - _pauseAtStart).TotalMilliseconds,
            GC.CollectionCount(0) - _gen0AtStart, GC.CollectionCount(1) - _gen1AtStart, GC.CollectionCount(2) - _gen2AtStart,
            GC.GetTotalAllocatedBytes() - _allocatedAtStart, _maxStallMs, _maxStallAtMs);
    }

    public void Dispose()
    {
        _stop.Set();
        _thread.Join();
        _stop.Dispose();
    }

    /// <summary>
    /// The most work items queued at once (and when, in ms), the GC pause in ms, the collections per generation, the bytes
    /// allocated, and the longest stall: how much later than its 50 ms the sampler (a managed thread, suspended by a GC
    /// like every other) woke up, and when.
    /// </summary>
    public readonly record struct Window(long MaxPending, double MaxPendingAtMs, double GcPauseMs, int Gen0, int Gen1, int Gen2, long Allocated, double MaxStallMs, double MaxStallAtMs)
    {
        public void Print(string name)
        {
            Figures.Print($"{name}.pool.max_pending", MaxPending, "work items");
            Figures.Print($"{name}.pool.max_pending_at", MaxPendingAtMs, "ms");
            Figures.Print($"{name}.gc.pause", GcPauseMs, "ms");
            Figures.Print($"{name}.gc.gen0", Gen0, "collections");
            Figures.Print($"{name}.gc.gen1", Gen1, "collections");
            Figures.Print($"{name}.gc.gen2", Gen2, "collections");
            Figures.Print($"{name}.gc.allocated", Allocated / 1048576d, "MiB");
            Figures.Print($"{name}.stall.max", MaxStallMs, "ms");
            Figures.Print($"{name}.stall.max_at", MaxStallAtMs, "ms");
        }
    }

    private void Run()
    {
        var last = Stopwatch.GetTimestamp();
        while (!_stop.Wait(Interval))
        {
            var now = Stopwatch.GetTimestamp();
            var late = Stopwatch.GetElapsedTime(last, now).TotalMilliseconds - Interval.TotalMilliseconds;
            last = now;
            if (late > _maxStallMs)
            {
                _maxStallMs = late;
                _maxStallAtMs = Stopwatch.GetElapsedTime(_start, now).TotalMilliseconds;
            }

            var pending = ThreadPool.PendingWorkItemCount;
            if (pending > _maxPending)
            {
                _maxPending = pending;
                _maxPendingAtMs = Stopwatch.GetElapsedTime(_start).TotalMilliseconds;
            }
        }
    }
}
