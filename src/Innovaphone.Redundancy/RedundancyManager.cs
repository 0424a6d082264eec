using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Innovaphone.Redundancy.Core;
using Innovaphone.Redundancy.Persistence;
using Innovaphone.Redundancy.Shell;
using Innovaphone.Redundancy.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Timeout;

namespace Innovaphone.Redundancy;

/// <summary>
/// Keeps a myApps-style connection to an innovaphone PBX system: follows redirects, accepts standby
/// PBXes, alternates between primary and secondary while PBXes fail, and publishes connInfo.
/// </summary>
/// <remarks>
/// <para>All public members are thread-safe. Subscribers never delay the manager (R10): each subscriber has its own
/// queue, delivered on the thread pool one call at a time and in order, never on the manager's processing loop. A
/// subscriber that blocks holds up only its own notifications; one that throws is logged (event 104) and keeps its
/// subscription. Disposing a subscription stops delivery to it after the call in progress, if any.</para>
/// <para><see cref="StateChanges"/> queues every change for every subscriber, however slow: each change is an event
/// with its own reason and time. <see cref="ConnInfoChanges"/> lets a slow subscriber skip superseded values: connInfo is
/// a snapshot and each value replaces the one before, so a subscriber that falls behind gets the latest (never the same
/// value twice in a row) rather than working through a backlog of obsolete targets; its backlog never exceeds one value.
/// Because delivery is asynchronous, <see cref="ConnInfo"/> and <see cref="State"/> may be ahead of what a subscriber
/// has seen so far, and the two observables are not ordered with respect to each other.</para>
/// <para>The store is written in the background, so a slow store does not delay failover either: saves never overlap,
/// the latest record wins when several queue up, and <see cref="StopAsync"/> and <see cref="DisposeAsync"/> return only
/// once every save queued before them is done, or <see cref="RedundancyOptions.AttemptTimeout"/> has passed.</para>
/// <para><see cref="DisposeAsync"/> stops, releases every connection, attempt and timer, and completes the observables:
/// each subscriber gets OnCompleted after its last value; disposal does not wait for that, so a blocked subscriber does
/// not hold it up.</para>
/// <para>No partner can hold it for good (docs/reliability.md, "Hardening"). A transport call that has not returned
/// <see cref="RedundancyOptions.AttemptTimeout"/> plus 2 s after it began, because the transport ignores cancellation, is
/// abandoned as a timed-out attempt (event 310) and the round goes on; a connection it returns later is closed. The store
/// is given <see cref="RedundancyOptions.AttemptTimeout"/> for its load in <see cref="StartAsync"/> and for the saves
/// that <see cref="StopAsync"/> and <see cref="DisposeAsync"/> wait for; past that the manager goes on in memory (events
/// 105, 106). When <see cref="StopAsync"/> or <see cref="DisposeAsync"/> returns, every connection the manager was given
/// is closed, even one that logged in despite cancellation; only a transport call that ignores cancellation beyond
/// 2 × AttemptTimeout is left running (event 109), and what it returns later is still closed.</para>
/// <para>Subscribers may call back into the manager from their callbacks, since those run on their own pumps, never on
/// the manager's loop nor under a lock: <see cref="StopAsync"/>, <see cref="DisposeAsync"/> and <see cref="StartAsync"/>
/// do there exactly what they do elsewhere, and may be awaited or waited on synchronously (<c>.Wait()</c>,
/// <c>.GetAwaiter().GetResult()</c>) without deadlock. Such a wait holds only that subscriber's own notifications (and a
/// thread-pool thread) meanwhile: a subscriber that disposes the manager gets its OnCompleted after it returns. Calls wait
/// for one another in order (start, stop and dispose never overlap); <see cref="StartAsync"/> after disposal throws
/// <see cref="ObjectDisposedException"/>, which the callback sees (and, if it lets it escape, is logged as event 104).
/// Subscribing another observer from a callback works as anywhere else (a connInfo subscriber gets its replay on the
/// calling thread before <c>Subscribe</c> returns).</para>
/// <para>The rules it implements (R1–R12) are described in docs/concepts.md.</para>
/// </remarks>
public sealed class RedundancyManager : IAsyncDisposable
{
    /// <summary>
    /// How long past <see cref="RedundancyOptions.AttemptTimeout"/> a transport call may take before the manager abandons
    /// it: Polly's timeout cancels the call at AttemptTimeout, and a transport that honours cancellation ends well within
    /// this; one that does not is no longer waited for. As long as a close timeout, so that a close in progress is not cut.
    /// </summary>
    internal static readonly TimeSpan AbandonGrace = TimeSpan.FromSeconds(2);

    private readonly RedundancyOptions _options;
    private readonly MachineConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IRedundancyStore _store;
    private readonly string _storeKey;
    private readonly ResiliencePipeline _attemptPipeline;
    private readonly BackoffScheduler _backoff;
    private readonly Func<double> _random;
    private readonly Channel<Envelope> _events = Channel.CreateUnbounded<Envelope>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _lifetime = new();
    private readonly ConcurrentDictionary<long, CancellationTokenSource> _attempts = new();

    // Logins the machine has been told of but has not yet adopted or closed, by attempt id.
    private readonly ConcurrentDictionary<long, IPbxConnection> _logins = new();
    private readonly ConcurrentDictionary<Task, byte> _background = new();
    private readonly SubscriberPublisher<ConnInfo> _connInfo;
    private readonly SubscriberPublisher<RedundancyStateChange> _stateChanges;
    private readonly StoreWriter _storeWriter;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly ManagerMetrics _metrics;
    private readonly StaggerDelays _staggerDelays;
    private readonly Task _loop;

    // Read and written by the processing loop only; other threads read the phase through _phase.
    private MachineState _state = MachineState.Initial;
    private int _phase = (int)RedundancyState.Idle;
    private RedundancyState _publishedPhase = RedundancyState.Idle;
    private LiveConnection? _connection;
    private ITimer? _staggerTimer;
    private long _staggerTimerId;
    private int _disposed;

    /// <summary>Creates a manager. It does nothing until <see cref="StartAsync"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is missing or out of range.</exception>
    public RedundancyManager(RedundancyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _config = new MachineConfig(options.Primary, options.Scheme, options.MaxRedirectHops, options.Phys);
        _time = options.TimeProvider ?? TimeProvider.System;
        _metrics = new ManagerMetrics(RedundancyTelemetry.CreateMeter(options.MeterFactory), _time);
        _logger = options.LoggerFactory?.CreateLogger<RedundancyManager>() ?? (ILogger)NullLogger.Instance;
        _store = options.Store ?? new InMemoryRedundancyStore();
        _storeKey = options.User is null ? options.Primary.ToString() : $"{options.Primary}|{options.User}";
        _attemptPipeline = new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddTimeout(options.AttemptTimeout)
            .Build();
        _backoff = new BackoffScheduler(options, _time, Post);
        _random = options.Randomizer ?? Random.Shared.NextDouble;
        _staggerDelays = new StaggerDelays(options.StaggerDelay);

        // Subscribers and the store are served off the loop, so that neither can delay failover (R10).
        _connInfo = SubscriberPublisher<ConnInfo>.LatestValue(_state.ToConnInfo(_config), OnSubscriberError);
        _stateChanges = SubscriberPublisher<RedundancyStateChange>.EveryValue(OnSubscriberError);
        _storeWriter = new StoreWriter(_store, _storeKey, ex => Log.StoreSaveFailed(_logger, ex.GetType().Name, ex.Message), _lifetime.Token);
        ConnInfoChanges = _connInfo;
        StateChanges = _stateChanges;
        _loop = Task.Run(RunLoopAsync);
    }

    /// <summary>The current state.</summary>
    public RedundancyState State => (RedundancyState)Volatile.Read(ref _phase);

    /// <summary>The current connInfo (R10).</summary>
    public ConnInfo ConnInfo => _connInfo.Value;

    /// <summary>
    /// connInfo on every change (R10): a new subscriber gets the current value at once, before Subscribe returns; the
    /// same value is never delivered twice in a row; a slow subscriber skips superseded values and ends on the latest;
    /// completes when the manager is disposed.
    /// </summary>
    public IObservable<ConnInfo> ConnInfoChanges { get; }

    /// <summary>Every change of <see cref="State"/>, once each and in order, however slow the subscriber; completes when the manager is disposed.</summary>
    public IObservable<RedundancyStateChange> StateChanges { get; }

    /// <summary>The live connection while <see cref="State"/> is Connected or Standby; otherwise null.</summary>
    public IPbxConnection? Connection => Volatile.Read(ref _connection)?.Connection;

    /// <summary>
    /// Starts connecting (R2): loads what the store kept and connects to the primary PBX. Returns once the first
    /// attempt has begun, not when it is up; watch <see cref="ConnInfoChanges"/> for that. Starting again after
    /// <see cref="RedundancyState.Faulted"/> or <see cref="StopAsync"/> begins anew; while running it does nothing.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The manager was disposed.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            RedundancyRecord? stored = null;
            try
            {
                // A store that never answers (a network share, a stalled disk) must not hold the start, nor with it the
                // lifecycle lock that stop and dispose need: past the bound the manager starts without what it kept.
                var load = _store.LoadAsync(_storeKey, cancellationToken).AsTask();
                Observe(load);
                stored = await load.WaitAsync(StoreBound, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Log.StoreLoadFailed(_logger, nameof(TimeoutException), $"no answer within {StoreBound}");
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.StoreLoadFailed(_logger, ex.GetType().Name, ex.Message);
            }

            Log.Started(_logger, _options.Primary);
            await SendAsync(new StartRequested(stored), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Stops (R11): cancels the attempt in flight and the backoff, closes the connection, and waits until
    /// they are gone. State becomes <see cref="RedundancyState.Stopped"/>. Does nothing when already stopped.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        await _lifecycle.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await StopCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops, completes the observables and releases everything. Safe to call more than once.</summary>
    public async ValueTask DisposeAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }

            await StopCoreAsync(CancellationToken.None).ConfigureAwait(false);
            _events.Writer.TryComplete();
            await _loop.ConfigureAwait(false);
            await _lifetime.CancelAsync().ConfigureAwait(false);
            await DrainBackgroundAsync(CancellationToken.None).ConfigureAwait(false);
            // Completed, not disposed: ConnInfo stays readable and a late subscriber gets OnCompleted, not an
            // ObjectDisposedException. Completion is queued after each subscriber's last value, not waited for.
            _connInfo.OnCompleted();
            _stateChanges.OnCompleted();
            _lifetime.Dispose();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        if (State == RedundancyState.Stopped)
        {
            await FlushStoreAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        await SendAsync(new StopRequested(), cancellationToken).ConfigureAwait(false);
        await DrainBackgroundAsync(cancellationToken).ConfigureAwait(false);

        // Sockets the transport closes in the background (after a Redirect, a cancelled or lost race) end within its close timeout.
        await _options.Transport.WaitForClosesAsync(cancellationToken).ConfigureAwait(false);

        // Saves leave the loop but not the lifecycle: whatever was queued before the stop is on disk when it returns.
        await FlushStoreAsync(cancellationToken).ConfigureAwait(false);
        Log.Stopped(_logger);
    }

    /// <summary>How long start waits for the store's load, and stop or dispose for its saves: the attempt timeout.</summary>
    private TimeSpan StoreBound => _options.AttemptTimeout;

    private async Task FlushStoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _storeWriter.FlushAsync(cancellationToken).WaitAsync(StoreBound, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The save goes on in the background (the writer never runs two at once); stop does not wait for it any longer.
            Log.StoreSaveFailed(_logger, nameof(TimeoutException), $"the store did not finish within {StoreBound}; stop went on without it");
        }
    }

    /// <summary>Observes a fault of work the manager stopped waiting for, so that it does not surface as an unobserved task exception.</summary>
    private static void Observe(Task task) =>
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private async Task DrainBackgroundAsync(CancellationToken cancellationToken)
    {
        // Attempts end promptly once cancelled. A transport that ignores cancellation would hold stop forever,
        // so the wait is bounded; what is still running then is abandoned (and logged), not waited for.
        var bound = _time.GetTimestamp();
        while (!_background.IsEmpty)
        {
            var left = (_options.AttemptTimeout * 2) - _time.GetElapsedTime(bound);
            try
            {
                await Task.WhenAll(_background.Keys).WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Log.BackgroundAbandoned(_logger, _background.Count, _options.AttemptTimeout * 2);
                _background.Clear();
                return;
            }
        }
    }

    private Task SendAsync(MachineEvent @event, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ObjectDisposedException.ThrowIf(!_events.Writer.TryWrite(new Envelope(@event, done)), this);

        return done.Task.WaitAsync(cancellationToken);
    }

    private bool Post(MachineEvent @event) => _events.Writer.TryWrite(new Envelope(@event, null));

    private async Task RunLoopAsync()
    {
        await foreach (var envelope in _events.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                await ProcessAsync(envelope.Event).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // The loop must survive anything, or the manager would wedge.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.ProcessingFailed(_logger, envelope.Event.GetType().Name, ex);
            }
            finally
            {
                envelope.Done?.TrySetResult();
            }
        }
    }

    private async Task ProcessAsync(MachineEvent @event)
    {
        var commands = Decide(@event);
        if (@event is BackoffScheduled scheduled && _state.NextAttemptAt == scheduled.DueAt)
        {
            Log.BackoffScheduled(_logger, scheduled.Delay, scheduled.DueAt);
        }

        // The machine marks the reconnect after a loss of the live connection (and its stagger timer) as spread; the wait
        // is random, so the shell picks it. Every other command runs at once.
        TimeSpan? spread = null;
        for (var i = 0; i < commands.Length; i++)
        {
            ref readonly var command = ref commands[i];
            var delay = command.Spread ? spread ??= ReconnectDelay() : TimeSpan.Zero;
            await ExecuteAsync(command, delay).ConfigureAwait(false);
        }

        // The machine adopts or closes every login it is told of; one it did not name (none should be left) is closed.
        if (@event is AttemptCompleted { Result: LoginAccepted } completed && _logins.TryRemove(completed.AttemptId, out var unnamed))
        {
            Track(new LiveConnection(unnamed).CloseAsync());
        }

        // A lost connection is released as soon as the machine lets go of it.
        if (_state.ConnectionId is null && Interlocked.Exchange(ref _connection, null) is { } released)
        {
            Track(released.CloseAsync());
        }

        // A stagger timer the machine no longer waits for (a login won, the round ended, a newer one) is dropped.
        if (_staggerTimer is not null && _state.StaggerTimerId != _staggerTimerId)
        {
            _staggerTimer.Dispose();
            _staggerTimer = null;
        }

        Publish(_state);
    }

    /// <summary>Feeds the machine, which writes its next state over <see cref="_state"/>; returns its commands.</summary>
    private MachineCommands Decide(MachineEvent @event)
    {
        var commands = default(MachineCommands);
        RedundancyMachine.Decide(_config, ref _state, @event, ref commands);
        Volatile.Write(ref _phase, (int)_state.Phase);
        return commands;
    }

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

    /// <summary>A random wait in [0, ReconnectJitter); zero when the option is off.</summary>
    private TimeSpan ReconnectDelay()
    {
        var jitter = _options.ReconnectJitter;
        if (jitter <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        // A randomizer that strays out of [0, 1) must not stretch the wait beyond the option.
        var ticks = (long)(jitter.Ticks * Math.Clamp(_random(), 0d, 1d));
        return TimeSpan.FromTicks(Math.Min(ticks, jitter.Ticks - 1));
    }

    private async ValueTask ExecuteAsync(MachineCommand command, TimeSpan delay)
    {
        switch (command.Kind)
        {
            case MachineCommandKind.Connect:
                var target = command.Target!;
                Log.AttemptStarted(_logger, command.AttemptNumber, command.Hop, target, command.Scheme);
                var cts = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token);
                _attempts[command.AttemptId] = cts;
                var progress = new AttemptProgress(this, command.AttemptId, target);
                Track(RunAttemptAsync(new PbxLoginRequest(target, command.Scheme, command.AttemptId) { Progress = progress }, delay, cts, progress));
                break;
            case MachineCommandKind.StartStagger:
                _staggerTimer?.Dispose();
                _staggerTimerId = command.TimerId;
                var due = _staggerDelays.For(command.Target!);
                _staggerTimer = _time.CreateTimer(
                    static s => ((StaggerTimerState)s!).Fire(),
                    new StaggerTimerState(this, command.TimerId),
                    due == Timeout.InfiniteTimeSpan ? due : due + delay,
                    Timeout.InfiniteTimeSpan);
                break;
            case MachineCommandKind.CancelAttempt:
                if (_attempts.TryRemove(command.AttemptId, out var attempt))
                {
                    try
                    {
                        await attempt.CancelAsync().ConfigureAwait(false);
                    }
                    catch (ObjectDisposedException)
                    {
                        // The attempt ended (and disposed its source) meanwhile: nothing left to cancel.
                    }
                }

                break;
            case MachineCommandKind.AdoptConnection:
                if (_logins.TryRemove(command.ConnectionId, out var won))
                {
                    var live = new LiveConnection(won);
                    Volatile.Write(ref _connection, live);
                    Track(WatchConnectionAsync(command.ConnectionId, live, _time.GetTimestamp()));
                }

                break;
            case MachineCommandKind.CloseConnection:
                if (_logins.TryRemove(command.ConnectionId, out var unwanted))
                {
                    Track(new LiveConnection(unwanted).CloseAsync());
                }
                else if (Interlocked.Exchange(ref _connection, null) is { } open)
                {
                    Track(open.CloseAsync());
                }

                break;
            case MachineCommandKind.StartBackoff:
                _backoff.RoundFailed(command.TimerId);
                break;
            case MachineCommandKind.ResetBackoff:
                _backoff.Reset();
                break;
            case MachineCommandKind.Persist:
                _storeWriter.Save(command.ToRecord(_config));
                break;
            case MachineCommandKind.Note:
                LogNote(command.Note, command.Text);
                break;
        }
    }

    private async Task RunAttemptAsync(PbxLoginRequest request, TimeSpan delay, CancellationTokenSource cts, AttemptProgress progress)
    {
        // Each attempt is a trace of its own, whatever activity the loop was started under.
        Activity.Current = null;
        using var activity = RedundancyTelemetry.Source.StartActivity(RedundancyTelemetry.AttemptActivity, ActivityKind.Client);
        activity?.SetTag(RedundancyTelemetry.PbxTag, request.Pbx.ToString());
        LoginOutcome outcome;
        Task<LoginOutcome>? call = null;
        var abandoned = false;
        try
        {
            if (delay > TimeSpan.Zero)
            {
                // On the manager's clock and cancelled with the attempt (stop, dispose, a newer round); the timer exists
                // before the log line, so a test that waits for the line can move fake time past it.
                var wait = Task.Delay(delay, _time, cts.Token);
                Log.ReconnectDelayed(_logger, request.Pbx, delay);
                await wait.ConfigureAwait(false);
            }

            progress.Started(_time.GetTimestamp());
            call = _attemptPipeline.ExecuteAsync(
                static (state, token) => state.Transport.ConnectAsync(state.Request, token),
                (Transport: _options.Transport, Request: request),
                cts.Token).AsTask();

            // Polly's timeout waits for the transport to honour cancellation, and one that ignores it would hold the round
            // (and stop) for good: the call is raced against the manager's own clock and against the attempt's cancellation.
            outcome = await call.WaitAsync(_options.AttemptTimeout + AbandonGrace, _time, cts.Token).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException)
        {
            outcome = new AttemptFailed(AttemptFailureKind.Timeout, $"no answer within {_options.AttemptTimeout}");
        }
        catch (TimeoutException) when (call is { IsCompleted: false })
        {
            abandoned = true;
            Log.AttemptAbandoned(_logger, request.Pbx, _options.AttemptTimeout + AbandonGrace);
            outcome = new AttemptFailed(AttemptFailureKind.Timeout, $"no answer within {_options.AttemptTimeout + AbandonGrace}; the transport ignored cancellation");
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            // Cancelled by stop or dispose: the machine has moved on and expects nothing; what the call still returns is closed.
            if (call is { IsCompleted: false })
            {
                abandoned = true;
                Track(CloseLateAsync(call, cts));
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
                cts.Dispose();
            }
        }

        if (abandoned)
        {
            Track(CloseLateAsync(call!, cts));
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

        var result = ToResult(outcome);
        if (outcome is not LoggedIn login)
        {
            Post(new AttemptCompleted(request.AttemptId, result));
            return;
        }

        // The machine sees the login as data; its connection waits here, under the attempt id, until the machine says to
        // adopt or close it. A login that arrives despite cancellation is closed at once, so that the attempt, and with it
        // stop, ends only once it is closed. Any other login waits until the loop has taken it: a stop that comes meanwhile
        // finds that close among the work it drains, and no connection outlives StopAsync.
        var taken = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _logins[request.AttemptId] = login.Connection;
        if (cts.IsCancellationRequested || !_events.Writer.TryWrite(new Envelope(new AttemptCompleted(request.AttemptId, result), taken)))
        {
            if (_logins.TryRemove(request.AttemptId, out var refused))
            {
                await refused.DisposeAsync().ConfigureAwait(false);
            }

            return;
        }

        await taken.Task.ConfigureAwait(false);
    }

    /// <summary>The machine's view of a transport outcome: data only (a login's connection stays with the shell).</summary>
    private static AttemptResult ToResult(LoginOutcome outcome) => outcome switch
    {
        LoggedIn login => new LoginAccepted(login.Info),
        Redirected redirect => new RedirectOffered(redirect.Target, redirect.Scheme),
        Rejected rejected => new LoginDenied(rejected.Code, rejected.Text),
        AttemptFailed failed => new AttemptUnsuccessful(failed.Kind, failed.Reason),
        _ => new AttemptUnsuccessful(AttemptFailureKind.ProtocolError, "the transport returned no outcome"),
    };

    /// <summary>Waits for a call the manager stopped waiting for, closes a connection it still returns, and then disposes its source.</summary>
    private static async Task CloseLateAsync(Task<LoginOutcome> call, CancellationTokenSource cts)
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
            cts.Dispose();
        }
    }

    private void Publish(in MachineState state)
    {
        // The machine says when a phase may be announced (Failover once its next attempt time is known).
        if (state.Phase != _publishedPhase && state.IsAnnounceable)
        {
            var reason = MachineTextFormat.Format(state.Reason);
            var change = new RedundancyStateChange(
                _publishedPhase, state.Phase, reason, state.Target, state.AttemptNumber, state.NextAttemptAt, _time.GetUtcNow());
            _publishedPhase = state.Phase;
            Log.StateChanged(_logger, change.Previous, change.Current, change.Reason);
            if (state.Phase == RedundancyState.Faulted)
            {
                Log.Faulted(_logger, reason);
            }

            _stateChanges.OnNext(change);
        }

        var info = state.ToConnInfo(_config);
        if (info.Up != _connInfo.Value.Up)
        {
            _metrics.UpChanged(info.Up, state.Phase);
        }

        if (state.Phase is RedundancyState.Stopped or RedundancyState.Faulted)
        {
            _metrics.EpisodeAbandoned();
        }

        if (info != _connInfo.Value)
        {
            _connInfo.OnNext(info);
        }
    }

    private void LogNote(MachineNote note, in MachineText text)
    {
        // Ignored events are the only notes below Information: do not format what will not be logged.
        if (note is MachineNote.StaleEventIgnored or MachineNote.EventIgnored && !_logger.IsEnabled(LogLevel.Debug))
        {
            return;
        }

        var detail = MachineTextFormat.Format(text);
        switch (note)
        {
            case MachineNote.AttemptFailed: Log.AttemptFailed(_logger, detail); break;
            case MachineNote.RedirectFollowed: Log.RedirectFollowed(_logger, detail); _metrics.RedirectFollowed(); break;
            case MachineNote.RedirectRefused: Log.RedirectRefused(_logger, detail); break;
            case MachineNote.LoggedIn: Log.LoggedIn(_logger, detail); break;
            case MachineNote.StandbyLogin: Log.StandbyLogin(_logger, detail); _metrics.StandbyLogin(); break;
            case MachineNote.Determined: Log.Determined(_logger, detail); break;
            case MachineNote.LoginRejected: Log.LoginRejected(_logger, detail); break;
            case MachineNote.ConnectionLost: Log.ConnectionLost(_logger, detail); break;
            case MachineNote.StandbyBack: Log.StandbyBack(_logger, detail); break;
            case MachineNote.LoggedOut: Log.LoggedOut(_logger, detail); break;
            case MachineNote.RoundFailed: Log.RoundFailed(_logger, detail); break;
            case MachineNote.StaleEventIgnored: Log.StaleResult(_logger, detail); break;
            case MachineNote.AttemptStaggered: Log.AttemptStaggered(_logger, detail); _metrics.AttemptStaggered(); break;
            case MachineNote.RedirectJoined: Log.RedirectJoined(_logger, detail); break;
            case MachineNote.LoginRejectedElsewhere: Log.LoginRejectedElsewhere(_logger, detail); break;
            case MachineNote.StandbyCorrected: Log.StandbyCorrected(_logger, detail); break;
            default: Log.EventIgnored(_logger, detail); break;
        }
    }

    private void Track(Task task)
    {
        // What is tracked never faults, so that stop and dispose cannot throw because a transport's close did.
        var tracked = task.ContinueWith(
            static (t, self) =>
            {
                if (t.Exception is { } ex)
                {
                    Log.ProcessingFailed(((RedundancyManager)self!)._logger, "background work", ex.InnerException ?? ex);
                }
            },
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        _background.TryAdd(tracked, 0);
        _ = tracked.ContinueWith(
            static (t, self) => ((RedundancyManager)self!)._background.TryRemove(t, out _),
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private void OnSubscriberError(Exception exception) => Log.SubscriberFailed(_logger, exception);

    /// <summary>Reports of one attempt: the first answer of its PBX becomes an event and a sample of that PBX's answer time.</summary>
    private sealed class AttemptProgress(RedundancyManager owner, long attemptId, PbxAddress pbx) : IProgress<PbxLoginProgress>
    {
        private long _startedAt;
        private int _answered;

        public void Started(long timestamp) => Volatile.Write(ref _startedAt, timestamp);

        public void Report(PbxLoginProgress value) => Answered(notify: true);

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

    private sealed class StaggerTimerState(RedundancyManager owner, long timerId)
    {
        public void Fire() => owner.Post(new StaggerElapsed(timerId));
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
