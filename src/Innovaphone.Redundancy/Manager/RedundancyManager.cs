using System.Collections.Concurrent;
using System.Threading.Channels;
using Innovaphone.Redundancy.Core;
using Innovaphone.Redundancy.Persistence;
using Innovaphone.Redundancy.Shared;
using Innovaphone.Redundancy.Shell;
using Innovaphone.Redundancy.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

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
public sealed partial class RedundancyManager : IAsyncDisposable
{
    /// <summary>
    /// How long past <see cref="RedundancyOptions.AttemptTimeout"/> a transport call may take before the manager abandons
    /// it: the attempt's deadline (<see cref="Shell.AttemptDeadline"/>) cancels the call at AttemptTimeout, and a transport that honours cancellation ends well within
    /// this; one that does not is no longer waited for. As long as a close timeout, so that a close in progress is not cut.
    /// </summary>
    internal static readonly TimeSpan AbandonGrace = TimeSpan.FromSeconds(2);

    private readonly RedundancyOptions _options;
    private readonly MachineConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IRedundancyStore _store;
    private readonly string _storeKey;
    private readonly BackoffScheduler _backoff;
    private readonly Func<double> _random;

    // The herd of the failover in progress and when it was drawn (loop only): later attempts of that failover take turns in it.
    private (ReconnectSpread.Herd Herd, long Drawn)? _roundHerd;
    private readonly Channel<Envelope> _events = Channel.CreateUnbounded<Envelope>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _lifetime = new();
    private readonly ConcurrentDictionary<long, CancellationTokenSource> _attempts = new();

    // Logins the machine has been told of but has not yet adopted or closed, by attempt id.
    private readonly ConcurrentDictionary<long, IPbxConnection> _logins = new();
    private readonly BackgroundWork _background;
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

    // Network changes are listened to from start to stop (under _lifecycle), so that a manager that is not running is
    // not held by a process-wide source.
    private IDisposable? _networkChanges;

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
        _random = options.Randomizer ?? Random.Shared.NextDouble;
        _backoff = new BackoffScheduler(options, _random, _time, Post);
        _background = new BackgroundWork(ex => Log.ProcessingFailed(_logger, "background work", ex));
        _staggerDelays = new StaggerDelays(options.StaggerDelay);

        // Subscribers and the store are served off the loop, so that neither can delay failover (R10).
        _connInfo = SubscriberPublisher<ConnInfo>.LatestValue(_state.ToConnInfo(_config), OnSubscriberError);
        _stateChanges = SubscriberPublisher<RedundancyStateChange>.EveryValue(OnSubscriberError);
        _storeWriter = new StoreWriter(_store, _storeKey, ex => Log.StoreSaveFailed(_logger, ex.GetType().Name, ex.Message), _lifetime.Token);
        ConnInfoChanges = _connInfo;
        StateChanges = _stateChanges;
        FailoverWarmUp.Watch(StateChanges, options.WarmUp, _background, _time, options.MinStableConnection, reason => Log.WarmUpStepSkipped(_logger, reason));
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
            _networkChanges ??= (_options.NetworkChanges ?? PlatformNetworkChanges.Instance).Subscribe(OnNetworkChanged);
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
        _networkChanges?.Dispose();
        _networkChanges = null;
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

    /// <summary>
    /// A network change (R14): the transport verifies the live connection and a login in progress at once; in Failover, a
    /// network that is available again ends the backoff now, spread by the reconnect jitter like a reconnect after a loss.
    /// </summary>
    private void OnNetworkChanged(NetworkChange change)
    {
        if (State is RedundancyState.Idle or RedundancyState.Stopped or RedundancyState.Faulted)
        {
            return;
        }

        Log.NetworkChanged(_logger, change.IsAvailable);
        _options.Transport.VerifyConnections();
        if (change.IsAvailable)
        {
            _backoff.Hurry(ReconnectDelay(lost: null));
        }
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
        try
        {
            await _background.WhenAllAsync(cancellationToken).WaitAsync(_options.AttemptTimeout * 2, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Log.BackgroundAbandoned(_logger, _background.Count, _options.AttemptTimeout * 2);
            _background.Forget();
        }
    }

}
