using FluentAssertions;
using Innovaphone.Redundancy.Shell;
using Polly;
using Polly.Retry;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Shell;

/// <summary>
/// R6: <see cref="BackoffDelays"/> is a port of Polly's retry delays (docs/adr/0001-backoff-timer.md). These tests hold
/// it to the Polly.Core the package references: the same options and the same draws give the same delays as a Polly
/// retry pipeline reports in OnRetry, so an upgrade of Polly that changes its formula fails here.
/// </summary>
public sealed class BackoffDelaysTests
{
    [Theory]
    [InlineData(false, 1_000, 30_000, 40)]
    [InlineData(true, 1_000, 30_000, 40)]
    [InlineData(true, 100, 86_400_000, 200)]
    [InlineData(true, 1, 86_400_000, 1_100)] // past t = 1024, where the jitter formula turns infinite
    [InlineData(false, 1, 86_400_000, 1_100)] // past 2^attempt beyond TimeSpan
    public async Task Next_GivesPollysRetryDelays_ForTheSameOptionsAndDraws(bool jitter, int initialMs, int maxMs, int rounds)
    {
        var initial = TimeSpan.FromMilliseconds(initialMs);
        var max = TimeSpan.FromMilliseconds(maxMs);
        var pollys = await PollyDelaysAsync(jitter, initial, max, rounds, new Random(20261129).NextDouble);

        var draws = new Random(20261129);
        var ours = new List<TimeSpan>();
        double state = 0;
        for (var attempt = 0; attempt < rounds; attempt++)
        {
            ours.Add(BackoffDelays.Next(attempt, initial, max, jitter, ref state, draws.NextDouble));
        }

        ours.Should().Equal(pollys);
    }

    [Fact]
    public void Next_WithoutJitter_DoublesFromTheInitialDelay_UpToTheCap_AndDrawsNothing()
    {
        double state = 0;
        var delays = Enumerable.Range(0, 7)
            .Select(attempt => BackoffDelays.Next(attempt, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), false, ref state, () => throw new InvalidOperationException("no draw without jitter")))
            .ToList();

        delays.Should().Equal(new[] { 1, 2, 4, 8, 16, 30, 30 }.Select(s => TimeSpan.FromSeconds(s)));
    }

    [Fact]
    public void Next_WithJitter_DrawsOncePerDelay_AndStaysWithinTheCap()
    {
        double state = 0;
        var draws = 0;
        var random = new Random(7);
        var delays = Enumerable.Range(0, 50)
            .Select(attempt => BackoffDelays.Next(attempt, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), true, ref state, () => { draws++; return random.NextDouble(); }))
            .ToList();

        draws.Should().Be(50);
        delays.Should().OnlyContain(d => d >= TimeSpan.Zero && d <= TimeSpan.FromSeconds(30));
        delays.Skip(10).Should().Contain(TimeSpan.FromSeconds(30), "the cap holds the growing delays");
    }

    /// <summary>The delays a Polly retry pipeline with these options reports, one per retry, on a clock that does not wait.</summary>
    private static async Task<List<TimeSpan>> PollyDelaysAsync(bool jitter, TimeSpan initial, TimeSpan max, int rounds, Func<double> randomizer)
    {
        var delays = new List<TimeSpan>();
        var pipeline = new ResiliencePipelineBuilder<bool> { TimeProvider = new NoWaitClock() }
            .AddRetry(new RetryStrategyOptions<bool>
            {
                ShouldHandle = static args => ValueTask.FromResult(args.Outcome.Result is false),
                MaxRetryAttempts = rounds,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = jitter,
                Delay = initial,
                MaxDelay = max,
                Randomizer = randomizer,
                OnRetry = args =>
                {
                    delays.Add(args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();

        await pipeline.ExecuteAsync(static _ => ValueTask.FromResult(false), TestContext.Current.CancellationToken);
        return delays;
    }

    /// <summary>The system clock, except that every timer is due at once: Polly's waits end without time passing.</summary>
    private sealed class NoWaitClock : TimeProvider
    {
        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            System.CreateTimer(callback, state, TimeSpan.Zero, period);
    }
}
