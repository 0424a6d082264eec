using Innovaphone.Redundancy.Core;
using Innovaphone.Redundancy.Shell;

namespace Innovaphone.Redundancy;

/// <summary>The manager, part two: the loop that feeds the machine one event at a time and carries out its commands, and what it publishes.</summary>
public sealed partial class RedundancyManager
{
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
        SpreadWait? spread = null;
        var spreadTaken = false;
        foreach (var command in commands)
        {
            switch (command)
            {
                case Connect { Spread: true } connect:
                    spread ??= DrawSpread(connect.Target);
                    spreadTaken = true;

                    // The herd also paces the rest of this failover's attempts (the next PBX after a refusal, a staggered
                    // one, a redirect), until the manager is up again or the herd's window is over.
                    _roundHerd = spread?.Herd is { } herd ? (herd, _time.GetTimestamp()) : null;
                    await ExecuteAsync(command, spread).ConfigureAwait(false);
                    break;
                case StartStagger { Spread: true } stagger:
                    spread ??= DrawSpread(stagger.Silent);
                    await ExecuteAsync(command, spread).ConfigureAwait(false);
                    break;
                case Connect:
                    await ExecuteAsync(command, FollowUpSpread()).ConfigureAwait(false);
                    break;
                default:
                    await ExecuteAsync(command, null).ConfigureAwait(false);
                    break;
            }
        }

        // A spread stagger without its attempt (none is expected) must not wait for an attempt that never starts.
        if (!spreadTaken)
        {
            spread?.Started.TrySetResult();
        }

        // The machine adopts or closes every login it is told of; one it did not name (none should be left) is closed.
        if (@event is AttemptCompleted { Outcome: LoggedIn } completed && _logins.TryRemove(completed.AttemptId, out var unnamed))
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

    /// <summary>Feeds the machine: keeps its next state in <see cref="_state"/> and returns its commands.</summary>
    private IReadOnlyList<MachineCommand> Decide(MachineEvent @event)
    {
        (_state, var commands) = RedundancyMachine.Decide(_config, _state, @event);
        Volatile.Write(ref _phase, (int)_state.Phase);
        return commands;
    }

    private async ValueTask ExecuteAsync(MachineCommand command, SpreadWait? spread)
    {
        switch (command)
        {
            case Connect connect:
                var target = connect.Target;
                Log.AttemptStarted(_logger, connect.AttemptNumber, connect.Hop, target, connect.Scheme);
                var cts = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token);
                _attempts[connect.AttemptId] = cts;
                var progress = new AttemptProgress(this, connect.AttemptId, target);
                Track(RunAttemptAsync(new PbxLoginRequest(target, connect.Scheme, connect.AttemptId) { Progress = progress }, spread, cts, progress));
                break;
            case StartStagger stagger:
                _staggerTimer?.Dispose();
                _staggerTimerId = stagger.TimerId;
                var due = _staggerDelays.For(stagger.Silent);
                var state = new StaggerTimerState(this, stagger.TimerId, spread?.Started.Task, due);
                _staggerTimer = state.Timer = _time.CreateTimer(
                    static s => ((StaggerTimerState)s!).Fire(),
                    state,
                    due == Timeout.InfiniteTimeSpan ? due : due + (spread?.Delay ?? TimeSpan.Zero),
                    Timeout.InfiniteTimeSpan);
                break;
            case CancelAttempt cancel:
                if (_attempts.TryRemove(cancel.AttemptId, out var attempt))
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
            case AdoptConnection adopt:
                if (_logins.TryRemove(adopt.ConnectionId, out var won))
                {
                    var live = new LiveConnection(won);
                    Volatile.Write(ref _connection, live);
                    Track(WatchConnectionAsync(adopt.ConnectionId, live, _time.GetTimestamp()));
                }

                break;
            case CloseConnection close:
                if (_logins.TryRemove(close.ConnectionId, out var unwanted))
                {
                    Track(new LiveConnection(unwanted).CloseAsync());
                }
                else if (Interlocked.Exchange(ref _connection, null) is { } open)
                {
                    Track(open.CloseAsync());
                }

                break;
            case StartBackoff backoff:
                _backoff.RoundFailed(backoff.TimerId);
                break;
            case ResetBackoff:
                _backoff.Reset();
                break;
            case Persist persist:
                _storeWriter.Save(persist.ToRecord(_config));
                break;
            case Note note:
                LogNote(note.Text);
                break;
        }
    }

    private void Publish(MachineState state)
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

    private void LogNote(MachineText note)
    {
        NoteLog.Write(_logger, note);
        switch (note)
        {
            case MachineText.RedirectFollowed: _metrics.RedirectFollowed(); break;
            case MachineText.StandbyLogin: _metrics.StandbyLogin(); break;
            case MachineText.AttemptStaggered: _metrics.AttemptStaggered(); break;
        }
    }

    /// <summary>Tracks background work until stop and dispose: what it does never faults them (a fault is logged, 108).</summary>
    private void Track(Task task) => _background.Add(task);

    private void OnSubscriberError(Exception exception) => Log.SubscriberFailed(_logger, exception);
}
