using System.Reactive.Disposables;
using System.Threading.Channels;

namespace Innovaphone.Redundancy.Shell;

/// <summary>
/// Publishes values without running subscriber code on the publishing thread (R10: subscribers never delay the
/// machine). Each subscriber has its own queue (a channel), drained by its own pump on the thread pool, one call at a
/// time and in order; a subscriber that blocks holds up only itself, and one that throws is reported and keeps its
/// subscription.
/// </summary>
/// <remarks>
/// <para>Two kinds. <see cref="LatestValue"/> (connInfo) replays the current value to a new subscriber and lets
/// a slow subscriber skip superseded values: its queue holds one value, the latest, and it never gets the same value
/// twice in a row. <see cref="EveryValue"/> (state changes) queues every value for every subscriber and replays
/// nothing.</para>
/// <para>One lock guards the value and the list of subscribers; it is held only to read or change them, never while
/// subscriber code runs, and writing to a queue never waits, so the publisher never waits for a subscriber.</para>
/// </remarks>
internal sealed class SubscriberPublisher<T> : IObservable<T>
{
    private readonly object _gate = new();
    private readonly Action<Exception> _onSubscriberError;
    private readonly bool _latestOnly;
    private readonly List<Subscriber> _subscribers = [];
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
                subscriber.Queue.Writer.TryWrite(value);
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
                subscriber.Queue.Writer.TryComplete();
            }

            _subscribers.Clear();
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
                _subscribers.Add(subscriber);
            }
        }

        if (_latestOnly)
        {
            Deliver(observer, replayed, complete: false);
        }

        if (completed)
        {
            Deliver(observer, default!, complete: true);
            return Disposable.Empty;
        }

        // The pump starts only after the replay, so that nothing published meanwhile overtakes it; without the caller's
        // execution context, as subscriber code runs on no one's behalf. It waits for its first value without a thread
        // (a value published during the replay is delivered on this thread, before Subscribe returns).
        using (ExecutionContext.SuppressFlow())
        {
            _ = subscriber.PumpAsync(replayed);
        }

        return subscriber;
    }

#pragma warning disable CA1031 // Isolating subscriber faults is the point of this type: a throw on a pool thread would end the process.
    private void Deliver(IObserver<T> observer, T value, bool complete)
    {
        try
        {
            if (complete)
            {
                observer.OnCompleted();
            }
            else
            {
                observer.OnNext(value);
            }
        }
        catch (Exception ex)
        {
            try
            {
                _onSubscriberError(ex);
            }
            catch (Exception)
            {
                // Nowhere left to report it; the pump must go on.
            }
        }
    }
#pragma warning restore CA1031

    /// <summary>One subscriber's queue and pump.</summary>
    private sealed class Subscriber(SubscriberPublisher<T> publisher, IObserver<T> observer) : IDisposable
    {
        private volatile bool _disposed;

        /// <summary>The latest value only (a slow subscriber skips to it), or every value.</summary>
        public Channel<T> Queue { get; } = publisher._latestOnly
            ? Channel.CreateBounded<T>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true })
            : Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true });

        /// <summary>Delivers the queue in order until it completes (OnCompleted follows) or the subscription is disposed.</summary>
        /// <param name="last">The value delivered last (the replay), so that a value equal to it is skipped.</param>
        public async Task PumpAsync(T last)
        {
            await foreach (var value in Queue.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                if (_disposed)
                {
                    return;
                }

                if (publisher._latestOnly && EqualityComparer<T>.Default.Equals(last, value))
                {
                    continue;
                }

                last = value;
                publisher.Deliver(observer, value, complete: false);
            }

            if (!_disposed)
            {
                publisher.Deliver(observer, default!, complete: true);
            }
        }

        public void Dispose()
        {
            // A call in progress finishes; nothing after it is delivered.
            _disposed = true;
            Queue.Writer.TryComplete();
            lock (publisher._gate)
            {
                publisher._subscribers.Remove(this);
            }
        }
    }
}
