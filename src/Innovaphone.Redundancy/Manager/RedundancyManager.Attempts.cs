using System.Diagnostics;
using Innovaphone.Redundancy.Core;
using Innovaphone.Redundancy.Shell;

namespace Innovaphone.Redundancy;

/// <summary>The manager, part three: transport calls, the connections they bring, and how a live connection is watched.</summary>
public sealed partial class RedundancyManager
{
    private async Task WatchConnectionAsync(long connectionId, LiveConnection live, long loggedInAt)
    {
        // Watching ends when the connection is lost or when the manager closed it itself, whichever comes first.
        var ended = await Task.WhenAny(live.Connection.Lost, live.Closed).ConfigureAwait(false);
        if (ended != live.Connection.Lost)
        {
            return;
        }

        var unstable = _time.GetElapsedTime(loggedInAt) < _options.MinStableConnection;
        if (!Post(new ConnectionLost(connectionId, live.Connection.Lost.Result, unstable)))
        {
            await live.CloseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The random wait before the reconnect after the loss of <paramref name="lost"/> (<see langword="null"/>: the network
    /// came back): within what is left of the window of ReconnectJitter that the herd of this loss opened
    /// (<see cref="ReconnectSpread"/>); <see langword="null"/> when the option is off.
    /// </summary>
    private SpreadWait? DrawSpread(PbxAddress? lost)
    {
        if (_options.ReconnectJitter <= TimeSpan.Zero)
        {
            return null;
        }

        var (wait, herd) = ReconnectSpread.For(_time).Delay(lost, _options.ReconnectJitter, _random());
        return new SpreadWait(wait, herd);
    }

    /// <summary>
    /// The herd of the failover in progress, for an attempt the machine did not mark as spread: one that takes its turn in
    /// the herd (no random wait) while the herd's window lasts, else <see langword="null"/>.
    /// </summary>
    private SpreadWait? FollowUpSpread()
    {
        if (_roundHerd is not var (herd, drawn) || _time.GetElapsedTime(drawn) > _options.ReconnectJitter
            || _state.Phase is RedundancyState.Connected or RedundancyState.Standby or RedundancyState.Stopped or RedundancyState.Faulted)
        {
            _roundHerd = null;
            return null;
        }

        return new SpreadWait(TimeSpan.Zero, herd, reconnect: false);
    }

    /// <summary>The wait of <see cref="DrawSpread"/> alone (the network's hurry of a backoff, which the herd does not pace).</summary>
    private TimeSpan ReconnectDelay(PbxAddress? lost) => DrawSpread(lost)?.Delay ?? TimeSpan.Zero;

    /// <summary>
    /// Waits out the reconnect's spread: its random wait, then its turn in the herd (<see cref="ReconnectSpread.Herd.AdmitAsync"/>);
    /// then lets the round's stagger timer count (<see cref="SpreadWait.Started"/>).
    /// </summary>
    private async Task WaitSpreadAsync(SpreadWait spread, PbxAddress pbx, CancellationToken cancellationToken)
    {
        if (spread.Delay > TimeSpan.Zero)
        {
            // On the manager's clock and cancelled with the attempt (stop, dispose, a newer round); the timer exists
            // before the log line, so a test that waits for the line can move fake time past it.
            var wait = Task.Delay(spread.Delay, _time, cancellationToken);
            Log.ReconnectDelayed(_logger, pbx, spread.Delay);
            await wait.ConfigureAwait(false);
        }

        if (spread.Herd?.AdmitAsync(_options.ReconnectJitter, spread.Reconnect, cancellationToken) is { IsCompleted: false } turn)
        {
            var waited = _time.GetTimestamp();
            await turn.ConfigureAwait(false);
            Log.ReconnectPaced(_logger, pbx, _time.GetElapsedTime(waited));
        }

        spread.Started.TrySetResult();
    }

    private async Task RunAttemptAsync(PbxLoginRequest request, SpreadWait? spread, CancellationTokenSource cts, AttemptProgress progress)
    {
        // Each attempt is a trace of its own, whatever activity the loop was started under.
        Activity.Current = null;
        using var activity = RedundancyTelemetry.Source.StartActivity(RedundancyTelemetry.AttemptActivity, ActivityKind.Client);
        activity?.SetTag(RedundancyTelemetry.PbxTag, request.Pbx.ToString());
        LoginOutcome outcome;
        Task<LoginOutcome>? call = null;
        var abandoned = false;
        AttemptDeadline? deadline = null;
        CancellationTokenSource? linked = null;
        try
        {
            if (spread is not null)
            {
                await WaitSpreadAsync(spread, request.Pbx, cts.Token).ConfigureAwait(false);
            }

            deadline = new AttemptDeadline(_options.AttemptTimeout, AbandonGrace, _time);
            linked = CancellationTokenSource.CreateLinkedTokenSource(cts.Token, deadline.Token);
            progress.Started(_time.GetTimestamp(), deadline);
            call = _options.Transport.ConnectAsync(request, linked.Token).AsTask();

            // A transport that ignores the cancellation would hold the round (and stop) for good: the call is raced against
            // the deadline's grace and against the attempt's cancellation.
            await Task.WhenAny(call, deadline.Abandoned).WaitAsync(cts.Token).ConfigureAwait(false);
            if (!call.IsCompleted)
            {
                abandoned = true;
                Log.AttemptAbandoned(_logger, request.Pbx, _options.AttemptTimeout + AbandonGrace);
                outcome = new AttemptFailed(AttemptFailureKind.Timeout, $"no answer within {_options.AttemptTimeout + AbandonGrace}; the transport ignored cancellation");
            }
            else
            {
                outcome = await call.ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (deadline is { Expired: true } && !cts.IsCancellationRequested)
        {
            outcome = new AttemptFailed(AttemptFailureKind.Timeout, $"no answer within {_options.AttemptTimeout}");
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            // Cancelled by stop or dispose: the machine has moved on and expects nothing; what the call still returns is closed.
            spread?.Started.TrySetCanceled(cts.Token);
            if (call is { IsCompleted: false })
            {
                abandoned = true;
                Track(CloseLateAsync(call, cts, linked, deadline));
            }

            return;
        }
#pragma warning disable CA1031 // A transport bug is a failed attempt, not a dead manager.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Log.TransportThrew(_logger, request.Pbx, ex.GetType().Name, ex.Message);
            outcome = new AttemptFailed(AttemptFailureKind.ProtocolError, $"transport error ({ex.GetType().Name})");
        }
        finally
        {
            // The source is disposed in every case, cancelled or not, so that its registration on the lifetime token goes
            // with it; a call still running keeps it until it returns.
            _attempts.TryRemove(new KeyValuePair<long, CancellationTokenSource>(request.AttemptId, cts));
            if (!abandoned)
            {
                linked?.Dispose();
                deadline?.Dispose();
                cts.Dispose();
            }
        }

        if (abandoned)
        {
            Track(CloseLateAsync(call!, cts, linked, deadline));
            _metrics.AttemptAbandoned();
        }
        else
        {
            _metrics.AttemptEnded(outcome);
        }

        RedundancyTelemetry.EndActivity(activity, outcome);
        if (outcome is LoggedIn or Redirected or Rejected)
        {
            // The PBX answered, even if the transport did not report it on the way: learn its answer time.
            progress.Answered(notify: false);
        }

        // A transport that returns no outcome at all (a bug) failed the attempt.
        outcome ??= new AttemptFailed(AttemptFailureKind.ProtocolError, "the transport returned no outcome");
        if (outcome is not LoggedIn login)
        {
            Post(new AttemptCompleted(request.AttemptId, outcome));
            return;
        }

        // The machine reads the login's data only; its connection waits here, under the attempt id, until the machine says
        // to adopt or close it. A login that arrives despite cancellation is closed at once, so that the attempt, and with it
        // stop, ends only once it is closed. Any other login waits until the loop has taken it: a stop that comes meanwhile
        // finds that close among the work it drains, and no connection outlives StopAsync.
        var taken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _logins[request.AttemptId] = login.Connection;
        if (cts.IsCancellationRequested || !_events.Writer.TryWrite(new Envelope(new AttemptCompleted(request.AttemptId, outcome), taken)))
        {
            if (_logins.TryRemove(request.AttemptId, out var refused))
            {
                await refused.DisposeAsync().ConfigureAwait(false);
            }

            return;
        }

        await taken.Task.ConfigureAwait(false);
    }

    /// <summary>Waits for a call the manager stopped waiting for, closes a connection it still returns, and then disposes its sources.</summary>
    private static async Task CloseLateAsync(Task<LoginOutcome> call, CancellationTokenSource cts, CancellationTokenSource? linked, AttemptDeadline? deadline)
    {
        try
        {
            if (await call.ConfigureAwait(false) is LoggedIn late)
            {
                await late.Connection.DisposeAsync().ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // Nobody waits for this outcome any more: a failure or a cancellation is the expected end.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
        finally
        {
            linked?.Dispose();
            deadline?.Dispose();
            cts.Dispose();
        }
    }

    /// <summary>
    /// Reports of one attempt: the first answer of its PBX becomes an event and a sample of that PBX's answer time; a user
    /// busy with the attempt (sign-in, two-factor) suspends its deadline.
    /// </summary>
    private sealed class AttemptProgress(RedundancyManager owner, long attemptId, PbxAddress pbx) : IProgress<PbxLoginProgress>
    {
        private long _startedAt;
        private int _answered;
        private AttemptDeadline? _deadline;

        public void Started(long timestamp, AttemptDeadline deadline)
        {
            Volatile.Write(ref _deadline, deadline);
            Volatile.Write(ref _startedAt, timestamp);
        }

        public void Report(PbxLoginProgress value)
        {
            if (value is PbxLoginProgress.AwaitingSignIn or PbxLoginProgress.AwaitingAuthorization && Volatile.Read(ref _deadline)?.Suspend() == true)
            {
                Log.AwaitingUser(owner._logger, pbx, value);
            }

            Answered(notify: true);
        }

        public void Answered(bool notify)
        {
            var startedAt = Volatile.Read(ref _startedAt);
            if (startedAt == 0 || Interlocked.Exchange(ref _answered, 1) != 0)
            {
                return;
            }

            owner._staggerDelays.Learn(pbx, owner._time.GetElapsedTime(startedAt));
            if (notify)
            {
                owner.Post(new AttemptAnswered(attemptId));
            }
        }
    }

    /// <summary>
    /// The stagger timer's state. In a spread round the timer counts from the drawn wait; when the herd made the first
    /// attempt wait for its turn beyond that (<see cref="SpreadWait.Started"/> not yet set), the stagger starts counting
    /// again once that attempt has started, so that R7's first candidate is never overtaken by the next.
    /// </summary>
    private sealed class StaggerTimerState(RedundancyManager owner, long timerId, Task? after, TimeSpan due)
    {
        public ITimer? Timer { get; set; }

        public void Fire()
        {
            if (after is { IsCompleted: false })
            {
                after.ContinueWith(
                    static (_, state) => ((StaggerTimerState)state!).Rearm(),
                    this,
                    CancellationToken.None,
                    TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
                return;
            }

            owner.Post(new StaggerElapsed(timerId));
        }

        private void Rearm()
        {
            try
            {
                // A timer the loop dropped meanwhile (the round moved on) stays dropped.
                Timer?.Change(due, Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>
    /// A reconnect's spread (R7, R8 with ReconnectJitter): the random wait drawn for it, the herd that paces it, and whether
    /// its first attempt has started (the round's stagger timer waits for that).
    /// </summary>
    private sealed class SpreadWait(TimeSpan delay, ReconnectSpread.Herd? herd, bool reconnect = true)
    {
        public TimeSpan Delay { get; } = delay;

        public ReconnectSpread.Herd? Herd { get; } = herd;

        /// <summary>Whether this is the reconnect itself (its first attempt), not a later attempt of its round.</summary>
        public bool Reconnect { get; } = reconnect;

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly record struct Envelope(MachineEvent Event, TaskCompletionSource? Done);

    /// <summary>A connection the manager holds, and whether the manager has closed it itself.</summary>
    private sealed class LiveConnection(IPbxConnection connection)
    {
        private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IPbxConnection Connection { get; } = connection;

        public Task Closed => _closed.Task;

        /// <summary>Closes once; a transport whose close throws (even synchronously) yields a faulted task, never a throw here.</summary>
        public async Task CloseAsync()
        {
            if (_closed.TrySetResult())
            {
                await Connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
