using System.Collections.Concurrent;
using FluentAssertions;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Scenarios;

/// <summary>
/// R6 on a host's fake clock: Failover is published, with its NextAttemptAt, only once the backoff timer exists, so a
/// clock moved to NextAttemptAt in one jump, even from the subscriber that sees the change, always ends the wait.
/// </summary>
public sealed class BackoffClockTests : IAsyncLifetime
{
    private const int Rounds = 60;
    private readonly LateTimerClock _clock = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private readonly ScenarioHarness _h;

    public BackoffClockTests() => _h = new ScenarioHarness(_clock);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _h.DisposeAsync();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task R6_ClockMovedToNextAttemptAt_FromTheSubscriber_StartsTheNextRound_EveryTime(bool jitter)
    {
        var master = _h.Sim.AddMaster("master.example.com");
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, master);
        _h.Sim.Kill(master);
        var random = new Random(20261126);
        var manager = _h.Create(master, o => o with { BackoffJitter = jitter, Randomizer = random.NextDouble, BackoffMax = TimeSpan.FromSeconds(8) });
        var jumps = 0;

        // The tightest case: the jump happens on the manager's own loop, in the notification of the change.
        using var jumper = manager.StateChanges.Subscribe(change =>
        {
            if (change.Current == RedundancyState.Failover && change.NextAttemptAt is { } due && Interlocked.Increment(ref jumps) <= Rounds)
            {
                _h.Time.SetUtcNow(due);
            }
        });
        await manager.StartAsync(TestContext.Current.CancellationToken);

        await _h.WaitUntilAsync(() => _h.Changes.Count(c => c.Previous == RedundancyState.Failover) >= Rounds, $"{Rounds} backoffs ended by one jump each");

        var failovers = _h.Changes.Where(c => c.Current == RedundancyState.Failover).Take(Rounds).ToList();
        failovers.Should().OnlyContain(c => c.NextAttemptAt > c.Timestamp, "every backoff waits");
        _h.Sim.Attempts.Should().HaveCountGreaterThanOrEqualTo(Rounds + 1, "each ended backoff started a round: one attempt at the only PBX");
    }

    [Fact]
    public async Task R6_Failover_IsPublishedOnlyAfterItsTimerExists_EvenWhenTheTimerIsCreatedLate()
    {
        var master = _h.Sim.AddMaster("master.example.com");
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, master);
        _h.Sim.Kill(master);
        var manager = _h.Create(master);
        var early = 0;
        using var jumper = manager.StateChanges.Subscribe(change =>
        {
            if (change.Current == RedundancyState.Failover && change.NextAttemptAt is { } due)
            {
                if (!_clock.TakeTimerDue(due))
                {
                    Interlocked.Increment(ref early);
                }

                _clock.FailoverSeen.Set();
                _h.Time.SetUtcNow(due);
            }
        });
        _clock.Late = true;
        await manager.StartAsync(TestContext.Current.CancellationToken);

        await _h.WaitUntilAsync(
            () => _h.Changes.Count(c => c.Previous == RedundancyState.Failover) >= 5 || Volatile.Read(ref early) > 0,
            "5 backoffs, or a Failover published before its timer existed");

        Volatile.Read(ref early).Should().Be(0, "Failover (with NextAttemptAt) is published after its timer exists");
        _h.Changes.Count(c => c.Previous == RedundancyState.Failover).Should().BeGreaterThanOrEqualTo(5);
    }

    /// <summary>
    /// A fake clock that remembers the due time of every timer and, when <see cref="Late"/>, takes up to 100 ms to
    /// create one: time enough for a Failover published too early to reach its subscriber before the timer exists. The
    /// bounded wait is how the test gives an event that must not happen its chance; with the fix it always runs out.
    /// </summary>
    private sealed class LateTimerClock(DateTimeOffset start) : FakeTimeProvider(start)
    {
        private readonly ConcurrentDictionary<DateTimeOffset, byte> _dueTimes = new();

        public bool Late { get; set; }

        public ManualResetEventSlim FailoverSeen { get; } = new();

        /// <summary>Whether a timer due at <paramref name="due"/> was created since the last call (and forgets them all).</summary>
        public bool TakeTimerDue(DateTimeOffset due)
        {
            var found = _dueTimes.ContainsKey(due);
            _dueTimes.Clear();
            return found;
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (Late)
            {
                FailoverSeen.Wait(TimeSpan.FromMilliseconds(100));
                FailoverSeen.Reset();
            }

            _dueTimes[GetUtcNow() + dueTime] = 0;
            return base.CreateTimer(callback, state, dueTime, period);
        }
    }
}
