using System.Threading.Channels;
using Innovaphone.Redundancy.Core;
using Polly;
using Polly.Retry;

namespace Innovaphone.Redundancy.Shell;

/// <summary>
/// The wait between two rounds of attempts (R6), done by a Polly retry pipeline so that backoff,
/// cap and jitter are Polly's and run on the manager's <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>
/// One failover episode (from the first failed round until a login, a fault or a stop) is one execution
/// of the retry pipeline. Each execution of its callback stands for one round: it reports the round's
/// failure (a result of <see langword="false"/>), Polly picks the delay and waits, and the next execution
/// tells the machine the backoff is over. Between two rounds the machine runs its attempts; the callback
/// waits for the next failed round on a channel. A new episode starts the backoff from the beginning.
/// <para>The machine learns of a backoff (<see cref="BackoffScheduled"/>, which publishes Failover with its
/// NextAttemptAt) only once Polly's delay timer exists: Polly reports the delay (OnRetry) just before it creates the
/// timer, so the report is held until Polly's time provider, a thin wrapper here, is asked for that timer. A host
/// that moves a fake clock to NextAttemptAt the moment it sees Failover then always fires the timer.</para>
/// </remarks>
internal sealed class BackoffScheduler
{
    private static readonly ResiliencePropertyKey<Episode> EpisodeKey = new("Innovaphone.Redundancy.BackoffEpisode");

    private readonly ResiliencePipeline<bool> _pipeline;
    private readonly TimeProvider _time;
    private readonly Func<MachineEvent, bool> _post;
    private readonly object _gate = new();
    private Episode? _current;
    private BackoffScheduled? _announcement;

    public BackoffScheduler(RedundancyOptions options, TimeProvider time, Func<MachineEvent, bool> post)
    {
        _time = time;
        _post = post;
        var retry = new RetryStrategyOptions<bool>
        {
            ShouldHandle = static args => ValueTask.FromResult(args.Outcome is { Exception: null, Result: false }),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = options.BackoffJitter,
            Delay = options.BackoffInitial,
            MaxDelay = options.BackoffMax,
            OnRetry = OnRetry,
        };
        if (options.Randomizer is { } randomizer)
        {
            retry.Randomizer = randomizer;
        }

        _pipeline = new ResiliencePipelineBuilder<bool> { TimeProvider = new AnnouncingTimeProvider(time, this) }.AddRetry(retry).Build();
    }

    /// <summary>A round failed; <paramref name="timerId"/> names the backoff the machine now waits for.</summary>
    /// <returns>The task of a newly started episode (it ends after <see cref="Reset"/>), or null if one was running.</returns>
    public Task? RoundFailed(long timerId)
    {
        lock (_gate)
        {
            Task? started = null;
            if (_current is null)
            {
                _current = new Episode();
                started = _current.Task = RunAsync(_current);
            }

            _current.FailedRounds.Writer.TryWrite(timerId);
            return started;
        }
    }

    /// <summary>Ends the running episode: the next failed round backs off from the initial delay again.</summary>
    public void Reset()
    {
        Episode? ended;
        lock (_gate)
        {
            ended = _current;
            _current = null;
        }

        ended?.Cancellation.Cancel();
    }

    private async Task RunAsync(Episode episode)
    {
        var context = ResilienceContextPool.Shared.Get(episode.Cancellation.Token);
        context.Properties.Set(EpisodeKey, episode);
        try
        {
            await _pipeline.ExecuteAsync(
                static async (ctx, self) =>
                {
                    var episode = ctx.Properties.GetValue(EpisodeKey, null!);
                    if (episode.PendingTimer is long elapsed)
                    {
                        self._post(new BackoffElapsed(elapsed));
                    }

                    episode.PendingTimer = await episode.FailedRounds.Reader.ReadAsync(ctx.CancellationToken).ConfigureAwait(false);
                    return false;
                },
                context,
                this).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The episode ended (login, fault, stop): nothing is pending any more.
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
            episode.Cancellation.Dispose();
        }
    }

    private ValueTask OnRetry(OnRetryArguments<bool> args)
    {
        var episode = args.Context.Properties.GetValue(EpisodeKey, null!);
        if (episode.PendingTimer is long timer)
        {
            var scheduled = new BackoffScheduled(timer, _time.GetUtcNow() + args.RetryDelay, args.RetryDelay);
            if (args.RetryDelay > TimeSpan.Zero)
            {
                // Polly creates the delay timer next: announce it from there.
                lock (_gate)
                {
                    _announcement = scheduled;
                }
            }
            else
            {
                // No delay, no timer.
                _post(scheduled);
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Polly created a timer (its retry delay, the only timer of this pipeline): announce the backoff now.</summary>
    private void TimerCreated()
    {
        BackoffScheduled? scheduled;
        lock (_gate)
        {
            scheduled = _announcement;
            _announcement = null;
        }

        if (scheduled is not null)
        {
            _post(scheduled);
        }
    }

    /// <summary>The manager's clock, telling the scheduler when a timer has been created on it.</summary>
    private sealed class AnnouncingTimeProvider(TimeProvider inner, BackoffScheduler owner) : TimeProvider
    {
        public override TimeZoneInfo LocalTimeZone => inner.LocalTimeZone;

        public override long TimestampFrequency => inner.TimestampFrequency;

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override long GetTimestamp() => inner.GetTimestamp();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = inner.CreateTimer(callback, state, dueTime, period);
            owner.TimerCreated();
            return timer;
        }
    }

    private sealed class Episode
    {
        public Channel<long> FailedRounds { get; } = Channel.CreateUnbounded<long>(new UnboundedChannelOptions { SingleReader = true });

        public CancellationTokenSource Cancellation { get; } = new();

        public long? PendingTimer { get; set; }

        public Task Task { get; set; } = Task.CompletedTask;
    }
}
