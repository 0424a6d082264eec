using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>
/// One timer for the PING/PONG liveness of every connection of a process on one <see cref="TimeProvider"/>: each tick
/// looks at every registered <see cref="PingingStream"/>; it ends those whose PING went unanswered for their timeout. No
/// connection has a timer of its own, so an idle connection costs a timestamp compare per tick.
/// </summary>
/// <remarks>
/// <para>Connections to the same PBX endpoint with the same settings form a group that shares one probe: when nothing was
/// received on any of them for the interval, the wheel PINGs <see cref="ProbesPerGroup"/> of them. An answer on any
/// connection of the group proves the PBX alive; when neither probe is answered within the timeout and nothing else
/// arrived from that PBX meanwhile, every connection of the group that received nothing since the probe ends (the PBX is
/// frozen, or the path to it is gone). A probe that goes unanswered while the PBX answers elsewhere ends only its own
/// connection. So a silent PBX is found within interval + timeout however many connections go to it, at two PINGs
/// per interval instead of one per connection. What a group probe cannot see, a PBX that stops serving one connection
/// while serving the others, each connection checks for itself with a PING of its own after
/// <see cref="KeepAliveSettings.ConnectionInterval"/> without traffic; the TCP keep-alive (the interval's idle time, probes
/// a second apart for the timeout) finds a single connection whose path died (a NAT that dropped it) at no cost to the
/// process. A lone connection is a group of one: its PING goes out after the interval, as before.</para>
/// <para>The tick period is the smallest of the registered connections' <see cref="KeepAliveSettings.Resolution"/> (250 ms
/// with the defaults); a PING deadline that falls between two ticks (a verify's, or a keepalive's) gets the timer at that
/// moment, so that no deadline is checked late by a tick.</para>
/// <para>Resume from sleep: a tick that fires far too late (more than <see cref="ResumeThreshold"/> after it was due,
/// which is how a timer sees a sleep where the monotonic clock keeps counting, as on Windows), or one that finds the wall
/// clock ran ahead of the monotonic clock by that much (where the monotonic clock stops during sleep, as on Linux),
/// verifies every connection: a PING with its verify deadline, instead of judging by the time that passed asleep.</para>
/// </remarks>
internal sealed class KeepAliveWheel
{
    /// <summary>How late a tick, or how far ahead the wall clock, counts as a resume from sleep rather than load.</summary>
    internal static readonly TimeSpan ResumeThreshold = TimeSpan.FromSeconds(10);

    /// <summary>How many connections of a group a probe PINGs: one dead connection must not end its whole group.</summary>
    internal const int ProbesPerGroup = 2;

    private static readonly ConditionalWeakTable<TimeProvider, KeepAliveWheel> Wheels = [];

    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private readonly HashSet<PingingStream> _streams = [];
    // Keyed by text (endpoint and settings): a string-keyed dictionary runs precompiled framework code, where a struct key
    // would be compiled on first use, on a failover path that waits for this lock.
    private readonly Dictionary<string, KeepAliveGroup> _byKey = new(StringComparer.Ordinal);
    private readonly List<KeepAliveGroup> _groups = [];
    private readonly List<PingingStream> _pings = [];
    private readonly List<PingingStream> _expired = [];
    private ITimer? _timer;
    private TimeSpan _period = Timeout.InfiniteTimeSpan;
    private long _dueAt;
    private long _lastTick;
    private DateTimeOffset _lastWall;

    /// <summary>Streams that ended since the last tick swept them out (they stay in the set until then).</summary>
    private int _ended;

    private KeepAliveWheel(TimeProvider time) => _time = time;

    public TimeProvider Time => _time;

    /// <summary>The wheel of <paramref name="time"/>: one per time provider, for the provider's lifetime.</summary>
    public static KeepAliveWheel For(TimeProvider time) => Wheels.GetValue(time, static t => new KeepAliveWheel(t));

    /// <summary>How many connections the wheel watches (tests): those in its set that have not ended.</summary>
    internal int Count
    {
        get
        {
            lock (_gate)
            {
                return _streams.Count(s => !s.IsDisposed);
            }
        }
    }

    /// <summary>How many streams the set holds, ended ones not swept out yet included (tests).</summary>
    internal int Held
    {
        get
        {
            lock (_gate)
            {
                return _streams.Count;
            }
        }
    }

    /// <summary>Starts watching a connection whose WebSocket handshake is done.</summary>
    public void Add(PingingStream stream)
    {
        lock (_gate)
        {
            if (stream.IsDisposed || !_streams.Add(stream))
            {
                return;
            }

            // A stream without a peer is a group of its own.
            var key = stream.Peer is { } peer ? stream.Settings.GroupKey(peer) : null;
            KeepAliveGroup? group = null;
            if (key is null || !_byKey.TryGetValue(key, out group))
            {
                group = new KeepAliveGroup(key, Ticks(stream.Settings.Interval), Ticks(stream.Settings.Timeout));
                _groups.Add(group);
                if (key is not null)
                {
                    _byKey[key] = group;
                }
            }

            group.Members++;
            stream.Join(group);

            var now = _time.GetTimestamp();
            var resolution = stream.Settings.Resolution;
            if (_period == Timeout.InfiniteTimeSpan)
            {
                _lastTick = now;
                _lastWall = _time.GetUtcNow();
                _period = resolution;
                Arm(now, now + Ticks(_period));
            }
            else if (resolution < _period)
            {
                _period = resolution;
                Arm(now, Math.Min(_dueAt, now + Ticks(_period)));
            }
        }
    }

    /// <summary>
    /// Notes that a connection ended (its stream is disposed, so ticks pass it by). It takes no lock: when a PBX dies,
    /// thousands of connections of a process end within a second, and each taking the wheel's lock made them queue
    /// behind each other and behind the tick (measured at N = 10,000: the largest single wait of the loss path). The next
    /// tick sweeps ended streams out of the set and stops the timer once none is left.
    /// </summary>
    public void Remove(PingingStream stream)
    {
        Debug.Assert(stream.IsDisposed, "Only an ended stream leaves the wheel.");
        Interlocked.Increment(ref _ended);
    }

    /// <summary>
    /// Verifies connections at once: each gets a PING now, and ends unless something arrives within its verify deadline.
    /// A connection that is verifying already keeps its PING and the earlier deadline.
    /// </summary>
    public void Verify(IEnumerable<PingingStream> streams)
    {
        var pings = new List<PingingStream>();
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            var earliest = long.MaxValue;
            foreach (var stream in streams)
            {
                if (!_streams.Contains(stream))
                {
                    continue;
                }

                if (stream.StartVerify(now, out var deadline))
                {
                    pings.Add(stream);
                }

                earliest = Math.Min(earliest, deadline);
            }

            if (earliest != long.MaxValue && earliest < _dueAt)
            {
                Arm(now, earliest);
            }
        }

        foreach (var stream in pings)
        {
            stream.SendPing();
        }
    }

    private void OnTick()
    {
        PingingStream[] pings;
        PingingStream[] expired;
        lock (_gate)
        {
            if (Interlocked.Exchange(ref _ended, 0) > 0)
            {
                _streams.RemoveWhere(_sweep ??= Sweep);
            }

            if (_streams.Count == 0)
            {
                // The last connection ended: the timer stays stopped (it is one-shot) until a connection joins again.
                _period = Timeout.InfiniteTimeSpan;
                return;
            }

            var now = _time.GetTimestamp();
            var wall = _time.GetUtcNow();
            var resumed = _time.GetElapsedTime(_dueAt, now) > ResumeThreshold
                || (wall - _lastWall) - _time.GetElapsedTime(_lastTick, now) > ResumeThreshold;
            _lastTick = now;
            _lastWall = wall;
            var next = now + Ticks(_period);
            foreach (var group in _groups)
            {
                group.StartTick();
            }

            foreach (var stream in _streams)
            {
                switch (stream.Check(now, resumed, ref next))
                {
                    case KeepAliveAction.Ping:
                        _pings.Add(stream);
                        break;
                    case KeepAliveAction.Expire:
                        _expired.Add(stream);
                        break;
                }

                stream.Group!.See(stream);
            }

            var silent = false;
            foreach (var group in _groups)
            {
                silent |= group.Decide(now, resumed, ref next, _pings);
            }

            if (silent)
            {
                // A group's probe went unanswered and its PBX sent nothing since: end what heard nothing since the probe.
                foreach (var stream in _streams)
                {
                    if (stream.Group!.SilentSince is { } since && stream.ExpireWithGroup(since))
                    {
                        _expired.Add(stream);
                    }
                }
            }

            Arm(now, next);
            pings = [.. _pings];
            expired = [.. _expired];
            _pings.Clear();
            _expired.Clear();
        }

        foreach (var stream in pings)
        {
            stream.SendPing();
        }

        foreach (var stream in expired)
        {
            stream.Expire();
        }
    }

    private Predicate<PingingStream>? _sweep;

    /// <summary>Whether an ended stream leaves the set (under the lock); its group goes with its last member.</summary>
    private bool Sweep(PingingStream stream)
    {
        if (!stream.IsDisposed)
        {
            return false;
        }

        if (stream.Group is { } group && --group.Members == 0)
        {
            _groups.Remove(group);
            if (group.Key is { } key)
            {
                _byKey.Remove(key);
            }
        }

        return true;
    }

    private void Arm(long now, long dueAt)
    {
        _dueAt = dueAt;
        var due = _time.GetElapsedTime(now, Math.Max(now, dueAt));
        if (_timer is null)
        {
            _timer = _time.CreateTimer(static s => ((KeepAliveWheel)s!).OnTick(), this, due, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _timer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary><paramref name="span"/> in the provider's timestamp units.</summary>
    internal long Ticks(TimeSpan span) => (long)(span.Ticks * (_time.TimestampFrequency / (double)TimeSpan.TicksPerSecond));
}

/// <summary>
/// The connections of a process to one PBX endpoint with the same settings (under the wheel's lock): they share a probe.
/// </summary>
internal sealed class KeepAliveGroup(string? key, long interval, long timeout)
{
    private readonly PingingStream?[] _candidates = new PingingStream?[KeepAliveWheel.ProbesPerGroup];
    private int _candidateCount;
    private long _lastProof;
    private long _probeSentAt;
    private long _probeDeadline;

    /// <summary>The endpoint and settings the group's streams share, or <see langword="null"/> for a stream on its own.</summary>
    public string? Key { get; } = key;

    /// <summary>How many streams of the wheel's set belong to the group (the wheel drops the group with its last one, so a tick sees each group's streams).</summary>
    public int Members { get; set; }

    /// <summary>At this tick: when the unanswered probe was sent, if the group is to end; else <see langword="null"/>.</summary>
    public long? SilentSince { get; private set; }

    public void StartTick()
    {
        Array.Clear(_candidates);
        _candidateCount = 0;
        _lastProof = long.MinValue;
        SilentSince = null;
    }

    /// <summary>Takes a stream's last read into the group's, and keeps it as a probe candidate if it may be one.</summary>
    public void See(PingingStream stream)
    {
        _lastProof = Math.Max(_lastProof, stream.LastRead);
        if (_candidateCount < _candidates.Length && stream.CanProbe)
        {
            _candidates[_candidateCount++] = stream;
        }
    }

    /// <summary>
    /// After the streams were seen: ends a probe that was answered, marks the group silent when its probe was not,
    /// or sends a probe when the group received nothing for the interval. Returns whether the group is silent.
    /// </summary>
    public bool Decide(long now, bool resumed, ref long next, List<PingingStream> pings)
    {
        if (resumed)
        {
            // Every connection verifies on its own after a sleep; a probe from before it proves nothing either way.
            _probeSentAt = 0;
            return false;
        }

        if (_probeSentAt != 0)
        {
            if (_lastProof >= _probeSentAt)
            {
                // Something arrived from the PBX since the probe: it is alive.
                _probeSentAt = 0;
            }
            else if (now >= _probeDeadline)
            {
                SilentSince = _probeSentAt;
                _probeSentAt = 0;
                return true;
            }
            else
            {
                next = Math.Min(next, _probeDeadline);
                return false;
            }
        }

        if (now - _lastProof >= interval && _candidateCount > 0)
        {
            for (var i = 0; i < _candidateCount; i++)
            {
                _candidates[i]!.StartProbe(now);
                pings.Add(_candidates[i]!);
            }

            _probeSentAt = now;
            _probeDeadline = now + timeout;
            next = Math.Min(next, _probeDeadline);
        }

        return false;
    }
}

/// <summary>What the wheel does with a connection at a tick.</summary>
internal enum KeepAliveAction
{
    None,
    Ping,
    Expire,
}

/// <summary>The liveness settings of one connection (from <see cref="MyAppsTransportOptions"/>).</summary>
/// <param name="Interval">A PING after this long without receiving anything.</param>
/// <param name="Timeout">How long the PBX may stay silent after a keepalive PING.</param>
/// <param name="VerifyTimeout">How long the PBX may stay silent after a verify PING (network change, resume).</param>
internal readonly record struct KeepAliveSettings(TimeSpan Interval, TimeSpan Timeout, TimeSpan VerifyTimeout)
{
    /// <summary>How many intervals a connection of a group waits for traffic before it PINGs on its own.</summary>
    public const int ConnectionIntervals = 8;

    /// <summary>
    /// A PING of the connection's own after this long without traffic (<see cref="ConnectionIntervals"/> intervals, 56 s
    /// with the defaults): it finds a PBX that stopped serving this one connection while its group's probes are answered.
    /// </summary>
    public TimeSpan ConnectionInterval => Interval * ConnectionIntervals;

    /// <summary>The key of the group of connections to <paramref name="peer"/> with these settings.</summary>
    public string GroupKey(string peer) =>
        string.Create(CultureInfo.InvariantCulture, $"{Interval.Ticks} {Timeout.Ticks} {VerifyTimeout.Ticks} {peer}");

    /// <summary>
    /// The wheel's tick for this connection: a twentieth of the shorter setting, within [1 ms, 250 ms] (250 ms with the
    /// defaults). Short enough that the PINGs of many idle connections go out in small groups, not one burst a second;
    /// a tick costs a timestamp compare per connection (10,000 connections: about 0.1 % of a core at 4 ticks a second).
    /// </summary>
    public TimeSpan Resolution => TimeSpan.FromTicks(Math.Clamp(Math.Min(Interval.Ticks, Timeout.Ticks) / 20, TimeSpan.TicksPerMillisecond, TimeSpan.TicksPerSecond / 4));
}
