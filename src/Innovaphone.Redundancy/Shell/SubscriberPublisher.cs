using System.Reactive.Disposables;

namespace Innovaphone.Redundancy.Shell;

/// <summary>
/// Publishes values without running subscriber code on the publishing thread (R10: subscribers never delay the
/// machine). Each subscriber has its own queue, drained by its own pump on the thread pool, one call at a time and
/// in order; a subscriber that blocks holds up only itself, and one that throws is reported and keeps its
/// subscription.
/// </summary>
/// <remarks>
/// <para>Two kinds. <see cref="LatestValue"/> (connInfo) replays the current value to a new subscriber and lets
/// a slow subscriber skip superseded values: it gets the latest, never the same value twice in a row, and its
/// backlog never exceeds one value however long it blocks. <see cref="EveryValue"/> (state changes) queues every
/// value for every subscriber and replays nothing.</para>
/// <para>One lock guards the publisher and all its subscribers' queues; it is held only to read or change them,
/// never while subscriber code runs, so the publisher never waits for a subscriber.</para>
/// </remarks>
internal sealed class SubscriberPublisher<T> : IObservable<T>
{
    private readonly object _gate = new();
    private readonly Action<Exception> _onSubscriberError;
    private readonly bool _latestOnly;
    private Subscriber[] _subscribers = [];
    private T _value;
    private bool _completed;

    private SubscriberPublisher(bool latestOnly, T initial, Action<Exception> onSubscriberError)
    {
        _latestOnly = latestOnly;
        _value = initial;
        _onSubscriberError = onSubscriberError;
    }

    /// <summary>The last value published (or the initial one); still readable once completed.</summary>
    public T Value
    {
        get
        {
            lock (_gate)
            {
                return _value;
            }
        }
    }

    /// <summary>A publisher with a current value: replays it on subscribe; a slow subscriber skips to the latest.</summary>
    public static SubscriberPublisher<T> LatestValue(T initial, Action<Exception> onSubscriberError) => new(true, initial, onSubscriberError);

    /// <summary>A publisher of events: every subscriber gets every value published after it subscribed.</summary>
    public static SubscriberPublisher<T> EveryValue(Action<Exception> onSubscriberError) => new(false, default!, onSubscriberError);

    /// <summary>Queues <paramref name="value"/> for every subscriber and returns at once. Ignored once completed.</summary>
    public void OnNext(T value)
    {
        lock (_gate)
        {
            if (_completed)
            {
                return;
            }

            _value = value;
            foreach (var subscriber in _subscribers)
            {
                subscriber.EnqueueLocked(value);
            }
        }
    }

    /// <summary>Queues OnCompleted after each subscriber's last value and returns at once, without waiting for any.</summary>
    public void OnCompleted()
    {
        lock (_gate)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            foreach (var subscriber in _subscribers)
            {
                subscriber.CompleteLocked();
            }

            _subscribers = [];
        }
    }

    /// <summary>
    /// Subscribes. A <see cref="LatestValue"/> publisher delivers the current value before this returns, on the
    /// caller's thread (as a BehaviorSubject does, so a caller may rely on having seen it), but outside the lock:
    /// values published meanwhile wait in the new subscriber's queue. Once completed, the observer gets the last
    /// value (if any is replayed) and OnCompleted before this returns.
    /// </summary>
    public IDisposable Subscribe(IObserver<T> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        var subscriber = new Subscriber(this, observer);
        T replayed;
        bool completed;
        lock (_gate)
        {
            replayed = _value;
            completed = _completed;
            if (!completed)
            {
                _subscribers = [.. _subscribers, subscriber];

                // The subscribing thread delivers the replay itself; marking the pump as running keeps the thread
                // pool from delivering a newer value before (or during) it.
                subscriber.Running = _latestOnly;
                subscriber.Last = replayed;
                subscriber.HasLast = _latestOnly;
            }
        }

        if (_latestOnly)
        {
            Deliver(observer, replayed);
        }

        if (completed)
        {
            DeliverCompleted(observer);
            return Disposable.Empty;
        }

        if (_latestOnly)
        {
            subscriber.ResumeAfterReplay();
        }

        return subscriber;
    }

#pragma warning disable CA1031 // Isolating subscriber faults is the point of this type: a throw on a pool thread would end the process.
    private void Deliver(IObserver<T> observer, T value)
    {
        try
        {
            observer.OnNext(value);
        }
        catch (Exception ex)
        {
            Report(ex);
        }
    }

    private void DeliverCompleted(IObserver<T> observer)
    {
        try
        {
            observer.OnCompleted();
        }
        catch (Exception ex)
        {
            Report(ex);
        }
    }

    private void Report(Exception exception)
    {
        try
        {
            _onSubscriberError(exception);
        }
        catch (Exception)
        {
            // Nowhere left to report it; the pump must go on.
        }
    }
#pragma warning restore CA1031

    private void Remove(Subscriber subscriber)
    {
        var index = Array.IndexOf(_subscribers, subscriber);
        if (index >= 0)
        {
            _subscribers = [.. _subscribers[..index], .. _subscribers[(index + 1)..]];
        }
    }

    /// <summary>One subscriber's queue and pump. Every field is guarded by the publisher's lock.</summary>
    private sealed class Subscriber(SubscriberPublisher<T> publisher, IObserver<T> observer) : IDisposable
    {
        private readonly Queue<T> _queue = new();
        private bool _completePending;
        private bool _ended;

        /// <summary>A pump is scheduled or delivering (or the subscribing thread is replaying).</summary>
        public bool Running { get; set; }

        /// <summary>The last value handed to the observer, to skip a repeat after skipped values.</summary>
        public T Last { get; set; } = default!;

        public bool HasLast { get; set; }

        public void EnqueueLocked(T value)
        {
            if (_ended)
            {
                return;
            }

            if (publisher._latestOnly)
            {
                // Superseded: a slow subscriber skips to the latest value instead of working through a backlog.
                _queue.Clear();
            }

            _queue.Enqueue(value);
            ScheduleLocked();
        }

        public void CompleteLocked()
        {
            if (_ended)
            {
                return;
            }

            _completePending = true;
            ScheduleLocked();
        }

        /// <summary>After the replay on the subscribing thread: hand what arrived meanwhile to a pump.</summary>
        public void ResumeAfterReplay()
        {
            lock (publisher._gate)
            {
                Running = false;
                if (!_ended && (_queue.Count > 0 || _completePending))
                {
                    ScheduleLocked();
                }
            }
        }

        public void Dispose()
        {
            lock (publisher._gate)
            {
                // A call in progress finishes; nothing after it is delivered.
                _ended = true;
                _queue.Clear();
                publisher.Remove(this);
            }
        }

        private void ScheduleLocked()
        {
            if (!Running)
            {
                Running = true;
                ThreadPool.UnsafeQueueUserWorkItem(static self => self.Pump(), this, preferLocal: false);
            }
        }

        private void Pump()
        {
            while (true)
            {
                T value;
                var complete = false;
                lock (publisher._gate)
                {
                    if (_ended)
                    {
                        Running = false;
                        return;
                    }

                    if (_queue.Count > 0)
                    {
                        value = _queue.Dequeue();
                        if (HasLast && publisher._latestOnly && EqualityComparer<T>.Default.Equals(Last, value))
                        {
                            continue;
                        }

                        Last = value;
                        HasLast = true;
                    }
                    else if (_completePending)
                    {
                        // Ended before the call, so that a Dispose racing with completion cannot add anything after it.
                        _completePending = false;
                        _ended = true;
                        Running = false;
                        complete = true;
                        value = default!;
                    }
                    else
                    {
                        Running = false;
                        return;
                    }
                }

                if (complete)
                {
                    publisher.DeliverCompleted(observer);
                    return;
                }

                publisher.Deliver(observer, value);
            }
        }
    }
}
