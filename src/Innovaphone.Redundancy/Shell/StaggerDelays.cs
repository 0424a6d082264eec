using System.Collections.Concurrent;

namespace Innovaphone.Redundancy.Shell;

/// <summary>
/// The stagger delay per PBX (R7 staggered attempts): how long the manager lets an attempt stay silent before the next
/// candidate starts beside it. Learned from how fast each PBX answered before, as RFC 8305 suggests for connection
/// attempts: twice the smoothed answer time (smoothed as TCP smooths its round-trip time, 7/8 old + 1/8 new), kept
/// within [100 ms, 2 s] (widened to include the configured delay). A PBX not seen yet gets the configured delay.
/// </summary>
/// <remarks>Thread-safe: attempts learn from the thread pool while the manager's loop reads.</remarks>
internal sealed class StaggerDelays
{
    // RFC 8305 section 5: the connection attempt delay should not go below 100 ms nor above 2 s.
    private static readonly TimeSpan Floor = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan Ceiling = TimeSpan.FromSeconds(2);

    // An installation has a handful of PBXes; redirects name only those. The bound keeps a hostile PBX that redirects
    // to ever new names from growing the table.
    private const int MaxPbxes = 64;

    private readonly TimeSpan _initial;
    private readonly TimeSpan _min;
    private readonly TimeSpan _max;
    private readonly ConcurrentDictionary<PbxAddress, long> _smoothedTicks = new();

    /// <param name="initial">The delay for a PBX without history; <see cref="Timeout.InfiniteTimeSpan"/> turns staggering off.</param>
    public StaggerDelays(TimeSpan initial)
    {
        _initial = initial;
        _min = initial < Floor ? initial : Floor;
        _max = initial > Ceiling ? initial : Ceiling;
    }

    /// <summary>The delay before the candidate after <paramref name="pbx"/> starts, if <paramref name="pbx"/> stays silent.</summary>
    public TimeSpan For(PbxAddress pbx)
    {
        if (_initial == Timeout.InfiniteTimeSpan)
        {
            return Timeout.InfiniteTimeSpan;
        }

        if (!_smoothedTicks.TryGetValue(pbx, out var smoothed))
        {
            return _initial;
        }

        return TimeSpan.FromTicks(Math.Clamp(smoothed * 2, _min.Ticks, _max.Ticks));
    }

    /// <summary>Records that <paramref name="pbx"/> answered <paramref name="elapsed"/> after its attempt started.</summary>
    public void Learn(PbxAddress pbx, TimeSpan elapsed)
    {
        if (elapsed < TimeSpan.Zero)
        {
            return;
        }

        if (_smoothedTicks.Count >= MaxPbxes && !_smoothedTicks.ContainsKey(pbx))
        {
            _smoothedTicks.Clear();
        }

        _smoothedTicks.AddOrUpdate(pbx, static (_, sample) => sample, static (_, old, sample) => ((7 * old) + sample) / 8, elapsed.Ticks);
    }
}
