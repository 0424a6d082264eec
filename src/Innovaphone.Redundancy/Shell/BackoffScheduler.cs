using Innovaphone.Redundancy.Core;

namespace Innovaphone.Redundancy.Shell;

/// <summary>
/// The wait between two rounds of attempts (R6): Polly's exponential backoff, cap and decorrelated jitter
/// (<see cref="BackoffDelays"/>), waited on one timer of the manager's <see cref="TimeProvider"/> that this class owns.
/// </summary>
/// <remarks>
/// One failover episode (from the first failed round until a login, a fault or a stop) counts its failed rounds and
/// carries the jitter's state, as one execution of a Polly retry pipeline would; <see cref="Reset"/> ends it, and the
/// next failed round backs off from the initial delay again. Why the shell owns the timer instead of a Polly pipeline:
/// docs/adr/0001-backoff-timer.md.
/// <para>The machine learns of a backoff (<see cref="BackoffScheduled"/>, which publishes Failover with its
/// NextAttemptAt) only once the timer exists, so a host that moves a fake clock to NextAttemptAt the moment it sees
/// Failover always fires it. <see cref="BackoffElapsed"/> never overtakes its <see cref="BackoffScheduled"/>.</para>
/// </remarks>
internal sealed class BackoffScheduler
{
    private readonly TimeProvider _time;
    private readonly Func<MachineEvent, bool> _post;
    private readonly TimeSpan _initial;
    private readonly TimeSpan _max;
    private readonly bool _jitter;
    private readonly Func<double> _randomizer;

    // Guards the episode and the timer; held from the creation of a timer until its backoff is announced, so that its
    // callback (which takes it too) cannot announce the end first.
    private readonly object _gate = new();
    private int _failedRounds;
    private double _jitterState;
    private Pending? _pending;

    public BackoffScheduler(RedundancyOptions options, Func<double> randomizer, TimeProvider time, Func<MachineEvent, bool> post)
    {
        _time = time;
        _post = post;
        _initial = options.BackoffInitial;
        _max = options.BackoffMax;
        _jitter = options.BackoffJitter;
        _randomizer = randomizer;
    }

    /// <summary>A round failed: waits the next backoff of the episode, then posts <see cref="BackoffElapsed"/>.</summary>
    /// <param name="timerId">The id the machine gave this backoff.</param>
    public void RoundFailed(long timerId)
    {
        lock (_gate)
        {
            // The machine starts a backoff only after the previous one ended; a timer still here would be a stale one.
            _pending?.Timer?.Dispose();
            _pending = null;

            var delay = BackoffDelays.Next(_failedRounds, _initial, _max, _jitter, ref _jitterState, _randomizer);
            if (_failedRounds < int.MaxValue)
            {
                _failedRounds++;
            }

            if (delay <= TimeSpan.Zero)
            {
                // No delay (jitter can draw one), no timer.
                _post(new BackoffScheduled(timerId, _time.GetUtcNow(), delay));
                _post(new BackoffElapsed(timerId));
                return;
            }

            var pending = _pending = new Pending(this, timerId) { DueAt = _time.GetUtcNow() + delay };
            pending.Timer = _time.CreateTimer(static state => ((Pending)state!).Elapse(), pending, delay, Timeout.InfiniteTimeSpan);

            // Read after the timer exists: if the clock moved meanwhile, the announced time is at or after the timer's.
            _post(new BackoffScheduled(timerId, _time.GetUtcNow() + delay, delay));
            pending.Announced = true;
            if (pending.FiredEarly)
            {
                // A clock that fires timers from inside CreateTimer: the end comes after the announcement all the same.
                Elapsed(pending);
            }
        }
    }

    /// <summary>
    /// The network is back (R14): the backoff in progress, if any, ends within <paramref name="delay"/> (zero: now)
    /// instead of at its time. The episode goes on: a round that fails again backs off further.
    /// </summary>
    public void Hurry(TimeSpan delay)
    {
        lock (_gate)
        {
            var dueAt = _time.GetUtcNow() + delay;
            if (_pending is not { Announced: true, Timer: { } timer } pending || dueAt >= pending.DueAt)
            {
                return;
            }

            pending.DueAt = dueAt;
            if (delay <= TimeSpan.Zero)
            {
                Elapsed(pending);
            }
            else
            {
                timer.Change(delay, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Ends the episode: cancels the backoff in progress; the next failed round backs off from the initial delay.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _pending?.Timer?.Dispose();
            _pending = null;
            _failedRounds = 0;
            _jitterState = 0;
        }
    }

    private void Elapsed(Pending pending)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(_pending, pending))
            {
                // Reset, or superseded, while the callback was on its way.
                return;
            }

            if (!pending.Announced)
            {
                pending.FiredEarly = true;
                return;
            }

            _pending = null;
            pending.Timer?.Dispose();
            _post(new BackoffElapsed(pending.TimerId));
        }
    }

    private sealed class Pending(BackoffScheduler owner, long timerId)
    {
        public long TimerId { get; } = timerId;

        public ITimer? Timer { get; set; }

        /// <summary>When the timer fires.</summary>
        public DateTimeOffset DueAt { get; set; }

        /// <summary>Its <see cref="BackoffScheduled"/> has been posted.</summary>
        public bool Announced { get; set; }

        /// <summary>The timer fired before <see cref="Announced"/> (on the thread that created it).</summary>
        public bool FiredEarly { get; set; }

        public void Elapse() => owner.Elapsed(this);
    }
}
