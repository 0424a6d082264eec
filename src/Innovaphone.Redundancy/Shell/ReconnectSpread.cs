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
/// <para>Thread-safe: every manager's loop draws from it.</para>
/// </remarks>
internal sealed class ReconnectSpread
{
    // A process talks to the PBXes of an installation or a few; the bound only keeps the table from growing without end.
    private const int MaxPbxes = 64;

    private static readonly ConditionalWeakTable<TimeProvider, ReconnectSpread> Spreads = [];

    /// <summary>The herd of a network that came back (R14): every manager in Failover hears the same event.</summary>
    private static readonly PbxAddress NetworkHerd = new("network.invalid");

    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private readonly Dictionary<PbxAddress, Burst> _bursts = [];

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
    /// <paramref name="window"/>. Zero when <paramref name="window"/> is not positive.
    /// </summary>
    public TimeSpan Delay(PbxAddress? pbx, TimeSpan window, double draw)
    {
        if (window <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        var now = _time.GetTimestamp();
        long opened;
        lock (_gate)
        {
            var key = pbx ?? NetworkHerd;
            if (!_bursts.TryGetValue(key, out var burst)
                || _time.GetElapsedTime(burst.Last, now) > BurstGap(window)
                || _time.GetElapsedTime(burst.Opened, now) > MaxJoinAge(window))
            {
                if (_bursts.Count >= MaxPbxes && !_bursts.ContainsKey(key))
                {
                    _bursts.Clear();
                }

                burst = new Burst(now, now);
            }

            _bursts[key] = burst with { Last = now };
            opened = burst.Opened;
        }

        // What is left of the herd's window; the join age keeps it at half the window or more. A draw out of [0, 1) must
        // not stretch the wait beyond it.
        var left = window - _time.GetElapsedTime(opened, now);
        var ticks = (long)(left.Ticks * Math.Clamp(draw, 0d, 1d));
        return TimeSpan.FromTicks(Math.Max(0, Math.Min(ticks, left.Ticks - 1)));
    }

    private readonly record struct Burst(long Opened, long Last);
}
