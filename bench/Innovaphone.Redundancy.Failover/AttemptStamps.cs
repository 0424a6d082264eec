using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Innovaphone.Redundancy.Failover;

/// <summary>
/// The attempts as the client makes them: every manager's transport is wrapped in a <see cref="Stamping"/> transport that
/// notes the <see cref="Stopwatch"/> timestamp of each <see cref="IPbxTransport.ConnectAsync"/>. The emulator's count
/// (<c>peak</c>) stamps an attempt when its own process gets round to it, which on a 2-core box shared by both processes
/// adds the emulator's scheduling to the figure; this one is what the library emits.
/// </summary>
internal sealed class AttemptStamps
{
    private static readonly long Bucket = Stopwatch.Frequency / 10;
    private readonly ConcurrentQueue<long> _stamps = new();

    public IPbxTransport Wrap(IPbxTransport inner) => new Stamping(inner, _stamps);

    /// <summary>Takes the attempts made since <paramref name="since"/> (a Stopwatch timestamp) and forgets all taken so far.</summary>
    public Summary Take(long since)
    {
        var times = new List<long>();
        while (_stamps.TryDequeue(out var stamp))
        {
            if (stamp >= since)
            {
                times.Add(stamp);
            }
        }

        if (times.Count == 0)
        {
            return new Summary(0, 0, 0, 0, 0);
        }

        var buckets = times.GroupBy(t => (t - since) / Bucket).Select(g => (g.Key, Count: g.Count())).ToList();
        var top = buckets.MaxBy(b => b.Count);
        return new Summary(
            top.Count * 10,
            times.Count,
            Stopwatch.GetElapsedTime(since, times.Min()).TotalMilliseconds,
            Stopwatch.GetElapsedTime(since, times.Max()).TotalMilliseconds,
            top.Key * 100);
    }

    /// <summary>Peak attempts per second (most in any 100 ms bucket, times 10), total, first and last in ms after the command, and where the peak bucket starts.</summary>
    public readonly record struct Summary(double Peak, int Total, double FirstMs, double LastMs, long PeakAtMs)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"peak {Peak} {Total} {FirstMs:0.#} {LastMs:0.#} {PeakAtMs}");
    }

    private sealed class Stamping(IPbxTransport inner, ConcurrentQueue<long> stamps) : IPbxTransport
    {
        public ValueTask<LoginOutcome> ConnectAsync(PbxLoginRequest request, CancellationToken cancellationToken)
        {
            stamps.Enqueue(Stopwatch.GetTimestamp());
            return inner.ConnectAsync(request, cancellationToken);
        }

        public Task WaitForClosesAsync(CancellationToken cancellationToken) => inner.WaitForClosesAsync(cancellationToken);

        public void VerifyConnections() => inner.VerifyConnections();
    }
}
