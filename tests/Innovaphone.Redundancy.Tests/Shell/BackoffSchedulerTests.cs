using System.Collections.Concurrent;
using FluentAssertions;
using Innovaphone.Redundancy.Core;
using Innovaphone.Redundancy.Shell;
using Innovaphone.Redundancy.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Shell;

/// <summary>
/// R6, R11: the backoff timer the shell owns (docs/adr/0001-backoff-timer.md): announced only once it exists, ended
/// by the clock, cancelled by a reset, and never left behind.
/// </summary>
public sealed class BackoffSchedulerTests
{
    private readonly TimerCountingClock _clock = new();
    private readonly ConcurrentQueue<(MachineEvent Event, int LiveTimers)> _posted = new();

    [Fact]
    public void RoundFailed_AnnouncesTheBackoff_OnlyOnceItsTimerExists()
    {
        var scheduler = Create();

        scheduler.RoundFailed(7);

        var (announced, liveTimers) = _posted.Should().ContainSingle().Which;
        announced.Should().Be(new BackoffScheduled(7, _clock.GetUtcNow() + TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)));
        liveTimers.Should().Be(1, "the timer exists when BackoffScheduled is posted");
    }

    [Fact]
    public void ClockMovedToDueAt_EndsTheBackoff_AndLeavesNoTimer()
    {
        var scheduler = Create();
        scheduler.RoundFailed(7);
        var due = ((BackoffScheduled)_posted.Single().Event).DueAt;

        _clock.SetUtcNow(due);

        _posted.Select(p => p.Event).Should().Equal(_posted.First().Event, new BackoffElapsed(7));
        _clock.LiveTimers.Should().Be(0);
    }

    [Fact]
    public void RoundFailed_DoublesPerFailedRound_UpToTheCap_AndResetStartsFromTheInitialDelayAgain()
    {
        var scheduler = Create();
        var delays = new List<TimeSpan>();
        for (var round = 1; round <= 6; round++)
        {
            delays.Add(SkipBackoff(scheduler, round));
        }

        scheduler.Reset();
        delays.Add(SkipBackoff(scheduler, 7));

        delays.Should().Equal(new[] { 1, 2, 4, 8, 10, 10, 1 }.Select(s => TimeSpan.FromSeconds(s)));
    }

    [Fact]
    public void Reset_CancelsTheBackoff_NothingElapses_AndNoTimerIsLeft()
    {
        var scheduler = Create();
        scheduler.RoundFailed(7);

        scheduler.Reset();
        _clock.Advance(TimeSpan.FromDays(1));

        _posted.Select(p => p.Event).Should().ContainSingle().Which.Should().BeOfType<BackoffScheduled>();
        _clock.LiveTimers.Should().Be(0, "stop, fault and a stable connection leave no timer behind (R11)");
    }

    [Fact]
    public void RoundFailed_ZeroDelayDrawn_AnnouncesAndEndsAtOnce_WithoutATimer()
    {
        // Decorrelated jitter with a draw of 0 gives a first delay of 0.
        var scheduler = Create(o => o with { BackoffJitter = true, Randomizer = () => 0 });

        scheduler.RoundFailed(7);

        _posted.Select(p => p.Event).Should().Equal(new BackoffScheduled(7, _clock.GetUtcNow(), TimeSpan.Zero), new BackoffElapsed(7));
        _clock.TimersCreated.Should().Be(0);
    }

    [Fact]
    public void TimerFiredFromInsideCreateTimer_EndsTheBackoff_AfterItsAnnouncement()
    {
        _clock.FireOnCreate = true;
        var scheduler = Create();

        scheduler.RoundFailed(7);

        _posted.Select(p => p.Event).Should().SatisfyRespectively(
            first => first.Should().BeOfType<BackoffScheduled>(),
            second => second.Should().Be(new BackoffElapsed(7)));
        _clock.LiveTimers.Should().Be(0);
    }

    [Fact]
    public void Hurry_EndsThePendingBackoffWithinTheDelay_AndLeavesNoTimer()
    {
        var scheduler = Create(o => o with { BackoffInitial = TimeSpan.FromSeconds(20), BackoffMax = TimeSpan.FromSeconds(20) });
        scheduler.RoundFailed(7);

        scheduler.Hurry(TimeSpan.FromSeconds(2));
        _clock.Advance(TimeSpan.FromMilliseconds(1999));
        _posted.Should().ContainSingle("the backoff has not ended yet");
        _clock.Advance(TimeSpan.FromMilliseconds(1));

        _posted.Select(p => p.Event).Should().Equal(_posted.First().Event, new BackoffElapsed(7));
        _clock.LiveTimers.Should().Be(0);
    }

    [Fact]
    public void Hurry_WithZeroDelay_EndsTheBackoffAtOnce()
    {
        var scheduler = Create();
        scheduler.RoundFailed(7);

        scheduler.Hurry(TimeSpan.Zero);

        _posted.Select(p => p.Event).Should().Equal(_posted.First().Event, new BackoffElapsed(7));
        _clock.LiveTimers.Should().Be(0);
    }

    [Fact]
    public void Hurry_NeverPostpones_AndWithoutABackoffDoesNothing()
    {
        var scheduler = Create();
        scheduler.Hurry(TimeSpan.Zero);
        _posted.Should().BeEmpty("no backoff is pending");

        scheduler.RoundFailed(7);
        scheduler.Hurry(TimeSpan.FromSeconds(5));
        _clock.Advance(TimeSpan.FromSeconds(1));

        _posted.Select(p => p.Event).Should().EndWith(new BackoffElapsed(7), "a longer delay keeps the backoff's own time (1 s)");
    }

    private BackoffScheduler Create(Func<RedundancyOptions, RedundancyOptions>? configure = null)
    {
        var options = new RedundancyOptions
        {
            Primary = PbxAddress.Parse("pbx.example.com/PBX0"),
            Transport = new SimulatedPbxSystem(_clock).CreateTransport("user", "secret"),
            BackoffInitial = TimeSpan.FromSeconds(1),
            BackoffMax = TimeSpan.FromSeconds(10),
            BackoffJitter = false,
        };
        var effective = configure is null ? options : configure(options);
        return new BackoffScheduler(effective, effective.Randomizer ?? Random.Shared.NextDouble, _clock, e =>
        {
            _posted.Enqueue((e, _clock.LiveTimers));
            return true;
        });
    }

    /// <summary>Fails round <paramref name="timerId"/>, moves the clock to its announced end, and returns the delay.</summary>
    private TimeSpan SkipBackoff(BackoffScheduler scheduler, long timerId)
    {
        scheduler.RoundFailed(timerId);
        var scheduled = _posted.Select(p => p.Event).OfType<BackoffScheduled>().Single(s => s.TimerId == timerId);
        _clock.SetUtcNow(scheduled.DueAt);
        _posted.Select(p => p.Event).Should().Contain(new BackoffElapsed(timerId));
        return scheduled.Delay;
    }

    /// <summary>A fake clock that counts its timers; with <see cref="FireOnCreate"/> a timer fires inside CreateTimer.</summary>
    private sealed class TimerCountingClock : FakeTimeProvider
    {
        private int _live;
        private int _created;

        public int LiveTimers => Volatile.Read(ref _live);

        public int TimersCreated => Volatile.Read(ref _created);

        public bool FireOnCreate { get; set; }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref _created);
            Interlocked.Increment(ref _live);
            var timer = new CountedTimer(base.CreateTimer(callback, state, dueTime, period), this);
            if (FireOnCreate)
            {
                callback(state);
            }

            return timer;
        }

        private sealed class CountedTimer(ITimer inner, TimerCountingClock clock) : ITimer
        {
            private int _disposed;

            public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(dueTime, period);

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) == 0)
                {
                    Interlocked.Decrement(ref clock._live);
                }

                inner.Dispose();
            }

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
