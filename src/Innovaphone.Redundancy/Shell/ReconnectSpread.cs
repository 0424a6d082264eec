using System.Runtime.CompilerServices;

namespace Innovaphone.Redundancy.Shell;

/// <summary>
/// The waits of <see cref="RedundancyOptions.ReconnectJitter"/> for every manager of a process on one
/// <see cref="TimeProvider"/>. Managers that lose the same PBX in one burst (a PBX that dies drops all its clients at once)
/// are a herd: each draws its wait from what is left of one window of ReconnectJitter that opened at the herd's first loss,
/// not at its own. The herd's reconnects are then spread over that one window and the last is made within it, however
/// long the losses took to arrive (a process that holds 10,000 connections needs a second or two to take in 10,000 resets,
/// and a wait counted from each manager's own loss would add that to the window).
/// </summary>
/// <remarks>
/// <para>A burst ends when no loss of that PBX came for a tenth of the window (<see cref="BurstGap"/>); a burst older than
/// half the window (<see cref="MaxJoinAge"/>) is not joined either, so a late member of a herd, or a lone loss after a
/// stream of them, still gets at least half the window to spread over, and the rate of reconnects stays within about
/// 1.4 times N / ReconnectJitter even for a herd whose losses take half the window to arrive.</para>
/// <para>The herd also paces itself (<see cref="Herd.Admit"/>): when a wait is over, the reconnect takes a token from the
/// herd's bucket, which refills at <see cref="PaceFactor"/> times the herd's share of the window (herd size / window) and
/// holds <see cref="BurstSize"/>; without one it waits for its turn. Random waits alone keep to that rate, but a process
/// that stalls (a garbage collection of a few hundred ms with 10,000 connections in the heap) fires the timers that fell
/// due in the stall all at once; the bucket spreads them again. A herd of up to <see cref="BurstSize"/> is never paced.</para>
/// <para>Thread-safe: every manager's loop draws from it.</para>
/// </remarks>
internal sealed class ReconnectSpread
{
    // A process talks to the PBXes of an installation or a few; the bound only keeps the table from growing without end.
    private const int MaxPbxes = 64;

    private static readonly ConditionalWeakTable<TimeProvider, ReconnectSpread> Spreads = [];

    /// <summary>The herd of a network that came back (R14): every manager in Failover hears the same event.</summary>
    private static readonly PbxAddress NetworkHerd = new("network.invalid");

    /// <summary>Reconnects a herd may start at once after a stall, and the most a herd of that size is ever made to wait for.</summary>
    internal const int BurstSize = 20;

    /// <summary>How far above its share of the window (herd size / window) a herd's reconnects may run.</summary>
    internal const double PaceFactor = 1.5;

    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private readonly Dictionary<PbxAddress, Herd> _herds = [];

    internal ReconnectSpread(TimeProvider time) => _time = time;

    /// <summary>The spread of <paramref name="time"/>: one per time provider, for the provider's lifetime.</summary>
    public static ReconnectSpread For(TimeProvider time) => Spreads.GetValue(time, static t => new ReconnectSpread(t));

    /// <summary>Losses further apart than this (of the window) belong to different bursts.</summary>
    internal static TimeSpan BurstGap(TimeSpan window) => window / 10;

    /// <summary>A burst older than this (of the window) is not joined: the loss opens a new one.</summary>
    internal static TimeSpan MaxJoinAge(TimeSpan window) => window / 2;

    /// <summary>
    /// The wait before the reconnect of a manager that lost <paramref name="pbx"/> (<see langword="null"/>: the network came
    /// back) now: <paramref name="draw"/> (in [0, 1); clamped) of what is left of its herd's window of
    /// <paramref name="window"/>, and the herd, which paces the reconnect when the wait is over. Zero and no herd when
    /// <paramref name="window"/> is not positive.
    /// </summary>
    public (TimeSpan Wait, Herd? Herd) Delay(PbxAddress? pbx, TimeSpan window, double draw)
    {
        if (window <= TimeSpan.Zero)
        {
            return (TimeSpan.Zero, null);
        }

        var now = _time.GetTimestamp();
        Herd herd;
        lock (_gate)
        {
            var key = pbx ?? NetworkHerd;
            if (!_herds.TryGetValue(key, out var joined)
                || _time.GetElapsedTime(joined.Last, now) > BurstGap(window)
                || _time.GetElapsedTime(joined.Opened, now) > MaxJoinAge(window))
            {
                if (_herds.Count >= MaxPbxes && !_herds.ContainsKey(key))
                {
                    _herds.Clear();
                }

                joined = new Herd(this, now);
                _herds[key] = joined;
            }

            joined.Last = now;
            joined.Count++;
            herd = joined;
        }

        // What is left of the herd's window; the join age keeps it at half the window or more. A draw out of [0, 1) must
        // not stretch the wait beyond it.
        var left = window - _time.GetElapsedTime(herd.Opened, now);
        var ticks = (long)(left.Ticks * Math.Clamp(draw, 0d, 1d));
        return (TimeSpan.FromTicks(Math.Max(0, Math.Min(ticks, left.Ticks - 1))), herd);
    }

    /// <summary>The managers that lost one PBX in one burst: when their window opened, who joined last, how many, and their bucket.</summary>
    internal sealed class Herd
    {
        private readonly ReconnectSpread _owner;
        private double _tokens = BurstSize;
        private long _refilled;

        internal Herd(ReconnectSpread owner, long opened)
        {
            _owner = owner;
            Opened = opened;
            Last = opened;
            _refilled = opened;
        }

        /// <summary>When the first loss of the herd came (a timestamp of the spread's clock).</summary>
        public long Opened { get; }

        /// <summary>When the last loss joined (guarded by the spread's lock).</summary>
        public long Last { get; set; }

        /// <summary>How many losses joined (guarded by the spread's lock).</summary>
        public int Count { get; set; }

        /// <summary>
        /// Takes the turn of a reconnect whose wait is over: zero when the bucket has a token, else how long this reconnect
        /// waits for its turn (the turn is taken either way, so that the waits of a backlog line up one after another).
        /// Never longer than <paramref name="window"/>.
        /// </summary>
        public TimeSpan Admit(TimeSpan window)
        {
            var time = _owner._time;
            lock (_owner._gate)
            {
                var now = time.GetTimestamp();
                var rate = PaceFactor * Count / window.TotalSeconds;
                _tokens = Math.Min(BurstSize, _tokens + (time.GetElapsedTime(_refilled, now).TotalSeconds * rate));
                _refilled = now;
                _tokens--;
                return _tokens >= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(-_tokens / rate, window.TotalSeconds));
            }
        }
    }
}
