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
/// <para>The herd also paces itself (<see cref="Herd.AdmitAsync"/>): when a wait is over, the reconnect (and every later
/// attempt of its failover) takes a token from the herd's bucket, which refills at <see cref="PaceFactor"/> times the
/// herd's share of the window (herd size x attempts per reconnect / window) and holds <see cref="BurstSize"/> or two timer
/// periods' worth; without one it queues, and one timer per herd lets the queue through as the bucket
/// refills. Random waits alone keep to that rate, but a process that stalls (a garbage collection of a few hundred ms with
/// 10,000 connections in the heap) fires the timers that fell due in the stall all at once; the queue spreads them again.
/// A herd of up to <see cref="BurstSize"/> is never paced.</para>
/// <para>Thread-safe: every manager's loop draws from it.</para>
/// </remarks>
internal sealed class ReconnectSpread
{
    // A process talks to the PBXes of an installation or a few; the bound only keeps the table from growing without end.
    private const int MaxPbxes = 64;

    private static readonly ConditionalWeakTable<TimeProvider, ReconnectSpread> Spreads = [];

    /// <summary>The herd of a network that came back (R14): every manager in Failover hears the same event.</summary>
    private static readonly PbxAddress NetworkHerd = new("network.invalid");

    /// <summary>Attempts a herd may start at once (a herd no larger than this is never paced), and the least its bucket holds.</summary>
    internal const int BurstSize = 20;

    /// <summary>How far above its share of the window (herd size x attempts per reconnect / window) a herd's attempts may run.</summary>
    internal const double PaceFactor = 1.5;

    /// <summary>How often a herd with reconnects waiting for their turn lets the next through.</summary>
    internal static readonly TimeSpan PumpPeriod = TimeSpan.FromMilliseconds(10);

    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private readonly Dictionary<PbxAddress, Herd> _herds = [];

    internal ReconnectSpread(TimeProvider time) => _time = time;

    /// <summary>The spread of <paramref name="time"/>: one per time provider, for the provider's lifetime.</summary>
    public static ReconnectSpread For(TimeProvider time) => Spreads.GetValue(time, static t => new ReconnectSpread(t));

    /// <summary>How many reconnects of the current herd of <paramref name="pbx"/> wait for their turn (tests).</summary>
    internal int WaitingFor(PbxAddress pbx)
    {
        lock (_gate)
        {
            return _herds.TryGetValue(pbx, out var herd) ? herd.WaitingUnlocked : 0;
        }
    }

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

    /// <summary>
    /// The managers that lost one PBX in one burst: when their window opened, who joined last, how many, and the queue of
    /// reconnects waiting for their turn, which one timer lets through.
    /// </summary>
    internal sealed class Herd
    {
        private readonly ReconnectSpread _owner;
        private readonly Queue<TaskCompletionSource> _waiting = new();
        private double _tokens = BurstSize;
        private int _reconnects;
        private int _attempts;
        private long _refilled;
        private TimeSpan _window;
        private ITimer? _pump;

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

        /// <summary>How many reconnects wait for their turn (tests; guarded by the spread's lock).</summary>
        internal int WaitingUnlocked => _waiting.Count;

        /// <summary>
        /// Completes when a reconnect whose wait is over may start: at once while the bucket has a token and nobody queues,
        /// else when the herd's timer (<see cref="PumpPeriod"/>) comes to it. The timer lets through what the bucket has
        /// refilled since its last tick, never more than <see cref="BurstSize"/> or two periods' worth at a time, so a tick
        /// that comes late (the process stalled) releases little more than a prompt one.
        /// </summary>
        /// <param name="window">The window of ReconnectJitter of the manager asking.</param>
        /// <param name="reconnect">Whether this is a reconnect's first attempt; the others of its round (the next PBX after a
        /// refusal, a staggered one) take turns too, and the herd's rate grows with the attempts per reconnect it sees.</param>
        /// <param name="cancellationToken">Gives up the turn (stop, dispose, a newer round): the task is cancelled and the
        /// turn goes to the next in the queue.</param>
        /// <returns>A task that completes at the reconnect's turn.</returns>
        public Task AdmitAsync(TimeSpan window, bool reconnect = true, CancellationToken cancellationToken = default)
        {
            lock (_owner._gate)
            {
                _window = window;
                _attempts++;
                if (reconnect)
                {
                    _reconnects++;
                }

                Refill();
                if (_waiting.Count == 0 && _tokens >= 1)
                {
                    _tokens--;
                    return Task.CompletedTask;
                }

                var turn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiting.Enqueue(turn);

                // Cancelled while it waits, the turn is left in the queue, and the pump hands its token to the next one.
                if (cancellationToken.CanBeCanceled)
                {
                    cancellationToken.UnsafeRegister(static t => ((TaskCompletionSource)t!).TrySetCanceled(), turn);
                }

                _pump ??= _owner._time.CreateTimer(static h => ((Herd)h!).Pump(), this, PumpPeriod, PumpPeriod);
                return turn.Task;
            }
        }

        private void Pump()
        {
            lock (_owner._gate)
            {
                Refill();
                while (_waiting.Count > 0 && _tokens >= 1)
                {
                    // A reconnect cancelled meanwhile (stop, dispose, a newer round) gives its turn to the next.
                    if (_waiting.Dequeue().TrySetResult())
                    {
                        _tokens--;
                    }
                }

                if (_waiting.Count == 0)
                {
                    _pump?.Dispose();
                    _pump = null;
                }
            }
        }

        // Guarded by the spread's lock.
        private void Refill()
        {
            var now = _owner._time.GetTimestamp();
            var perReconnect = _reconnects == 0 ? 1d : Math.Max(1d, _attempts / (double)_reconnects);
            var rate = PaceFactor * perReconnect * Count / _window.TotalSeconds;
            // The bucket holds a burst, or two ticks' worth at the herd's rate if that is more: a prompt tick must be able to
            // let through what one period refills, and a late one no more than two.
            var capacity = Math.Max(BurstSize, 2 * rate * PumpPeriod.TotalSeconds);
            _tokens = Math.Min(capacity, _tokens + (_owner._time.GetElapsedTime(_refilled, now).TotalSeconds * rate));
            _refilled = now;
        }
    }
}
