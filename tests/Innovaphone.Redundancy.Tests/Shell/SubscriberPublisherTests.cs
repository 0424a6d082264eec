using System.Collections.Concurrent;
using FluentAssertions;
using Innovaphone.Redundancy.Shell;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Shell;

/// <summary>
/// The publisher behind ConnInfoChanges and StateChanges (R10): the publishing thread (the manager's loop) never runs
/// subscriber code, each subscriber is served by its own serialized pump, in order, and one that blocks or throws
/// harms no one else. Blocking subscribers wait on gates the test opens; every wait is bounded in real time.
/// </summary>
public sealed class SubscriberPublisherTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);
    private readonly ConcurrentQueue<Exception> _errors = new();

    [Fact]
    public async Task OnNext_SubscriberBlocks_ReturnsAtOnceAndOthersStillGetTheValue()
    {
        using var gate = new ManualResetEventSlim();
        var publisher = SubscriberPublisher<int>.EveryValue(_errors.Enqueue);
        var blocked = new Recorder<int>(onNext: _ => gate.Wait(Guard, TestContext.Current.CancellationToken));
        var other = new Recorder<int>();
        using var s1 = publisher.Subscribe(blocked);
        using var s2 = publisher.Subscribe(other);

        // If OnNext ran subscribers on the caller's thread, this would hang for the whole guard.
        await Task.Run(() => publisher.OnNext(1), TestContext.Current.CancellationToken).WaitAsync(Guard, TestContext.Current.CancellationToken);
        other.WaitForCount(1);
        blocked.Entered.Wait(Guard, TestContext.Current.CancellationToken).Should().BeTrue();

        other.Values.Should().Equal(1);
        gate.Set();
        blocked.WaitForCount(1);
    }

    [Fact]
    public void OnNext_SubscriberThrows_IsReportedKeepsItsSubscriptionAndOthersGetEverything()
    {
        var publisher = SubscriberPublisher<int>.EveryValue(_errors.Enqueue);
        var thrower = new Recorder<int>(onNext: _ => throw new InvalidOperationException("subscriber bug"));
        var other = new Recorder<int>();
        using var s1 = publisher.Subscribe(thrower);
        using var s2 = publisher.Subscribe(other);

        for (var i = 1; i <= 3; i++)
        {
            publisher.OnNext(i);
        }

        thrower.WaitForCount(3);
        other.WaitForCount(3);
        thrower.Values.Should().Equal([1, 2, 3], "a throw does not end the subscription");
        other.Values.Should().Equal(1, 2, 3);
        _errors.Should().HaveCount(3).And.OnlyContain(e => e is InvalidOperationException);
    }

    [Fact]
    public async Task EveryValue_BurstFromManyPublishes_EachSubscriberGetsAllInOrder_OneCallAtATime()
    {
        const int Count = 5_000;
        var publisher = SubscriberPublisher<int>.EveryValue(_errors.Enqueue);
        var recorders = Enumerable.Range(0, 4).Select(_ => new Recorder<int>()).ToList();
        var subscriptions = recorders.Select(publisher.Subscribe).ToList();

        await Task.Run(() =>
        {
            for (var i = 0; i < Count; i++)
            {
                publisher.OnNext(i);
            }
        }, TestContext.Current.CancellationToken);

        foreach (var recorder in recorders)
        {
            recorder.WaitForCount(Count);
            recorder.Values.Should().Equal(Enumerable.Range(0, Count));
            recorder.Overlapped.Should().BeFalse("a subscriber's calls never overlap");
        }

        subscriptions.ForEach(s => s.Dispose());
    }

    [Fact]
    public void LatestValue_BurstWhileASubscriberIsSlow_InOrderNoRepeatsEndsOnTheLatest()
    {
        const int Count = 2_000;
        using var gate = new ManualResetEventSlim();
        using var blockedOnOne = new ManualResetEventSlim();
        var publisher = SubscriberPublisher<int>.LatestValue(0, _errors.Enqueue);

        // Slow on its first pumped value, so the burst piles up behind it; fast afterwards.
        var slow = new Recorder<int>(onNext: v =>
        {
            if (v == 1)
            {
                blockedOnOne.Set();
                gate.Wait(Guard, TestContext.Current.CancellationToken);
            }
        });
        var fast = new Recorder<int>();
        using var s1 = publisher.Subscribe(slow);
        using var s2 = publisher.Subscribe(fast);

        publisher.OnNext(1);
        blockedOnOne.Wait(Guard, TestContext.Current.CancellationToken).Should().BeTrue();

        // Values repeat in the burst (i / 2 and a return to 0), as connInfo may flip back to an earlier value.
        for (var i = 2; i < Count; i++)
        {
            publisher.OnNext(i % 50 == 0 ? 0 : i / 2);
        }

        var last = (Count - 1) / 2;
        publisher.OnNext(last + 1);
        publisher.OnNext(last);
        gate.Set();

        foreach (var recorder in new[] { slow, fast })
        {
            recorder.WaitUntil(values => values.Count > 0 && values[^1] == last && publisher.Value == last);
            var values = recorder.Values;
            values.Zip(values.Skip(1)).Should().OnlyContain(p => p.First != p.Second, "never the same value twice in a row");
            recorder.Overlapped.Should().BeFalse();
        }

        slow.Values.Should().Equal([0, 1, last], "the replay, the value it blocked on, then straight to the latest");
    }

    [Fact]
    public void LatestValue_NewSubscriber_GetsTheCurrentValueBeforeSubscribeReturns_OnItsOwnThread()
    {
        var publisher = SubscriberPublisher<string>.LatestValue("a", _errors.Enqueue);
        publisher.OnNext("b");
        var thread = -1;
        string? seen = null;

        using var subscription = publisher.Subscribe(new Recorder<string>(onNext: v => { seen = v; thread = Environment.CurrentManagedThreadId; }));

        seen.Should().Be("b");
        thread.Should().Be(Environment.CurrentManagedThreadId);
    }

    [Fact]
    public async Task LatestValue_PublishDuringTheReplay_DoesNotWaitForIt_AndFollowsItInOrder()
    {
        using var gate = new ManualResetEventSlim();
        var publisher = SubscriberPublisher<int>.LatestValue(1, _errors.Enqueue);
        var recorder = new Recorder<int>(onNext: v => { if (v == 1) { gate.Wait(Guard, TestContext.Current.CancellationToken); } });

        // The replay blocks the subscribing thread only; the publisher is not held up by it.
        var subscribing = Task.Run(() => publisher.Subscribe(recorder), TestContext.Current.CancellationToken);
        recorder.Entered.Wait(Guard, TestContext.Current.CancellationToken).Should().BeTrue();
        // Would time out if the replay held a lock the publisher needs.
        await Task.Run(() => { publisher.OnNext(2); publisher.OnNext(3); }, TestContext.Current.CancellationToken).WaitAsync(Guard, TestContext.Current.CancellationToken);
        recorder.Values.Should().Equal([1], "nothing overtakes the replay");

        gate.Set();
        using var subscription = await subscribing.WaitAsync(Guard, TestContext.Current.CancellationToken);
        recorder.WaitUntil(values => values[^1] == 3);
        recorder.Values.Should().Equal([1, 3], "2 was superseded while the replay ran");
        recorder.Overlapped.Should().BeFalse();
    }

    [Fact]
    public async Task OnCompleted_AfterEachSubscribersLastValue_WithoutWaitingForABlockedOne()
    {
        using var gate = new ManualResetEventSlim();
        var publisher = SubscriberPublisher<int>.EveryValue(_errors.Enqueue);
        var blocked = new Recorder<int>(onNext: v => { if (v == 1) { gate.Wait(Guard, TestContext.Current.CancellationToken); } });
        var other = new Recorder<int>();
        using var s1 = publisher.Subscribe(blocked);
        using var s2 = publisher.Subscribe(other);
        publisher.OnNext(1);
        blocked.Entered.Wait(Guard, TestContext.Current.CancellationToken).Should().BeTrue();
        publisher.OnNext(2);

        // Would time out if completion waited for the blocked subscriber.
        await Task.Run(publisher.OnCompleted, TestContext.Current.CancellationToken).WaitAsync(Guard, TestContext.Current.CancellationToken);
        other.Completed.Wait(Guard, TestContext.Current.CancellationToken).Should().BeTrue();
        other.Values.Should().Equal(1, 2);
        blocked.Completed.IsSet.Should().BeFalse();

        gate.Set();
        blocked.Completed.Wait(Guard, TestContext.Current.CancellationToken).Should().BeTrue();
        blocked.Values.Should().Equal([1, 2], "completion comes after the last value");
    }

    [Fact]
    public void Subscribe_AfterCompletion_GetsTheLastValueThenOnCompleted_AtOnce()
    {
        var connInfo = SubscriberPublisher<int>.LatestValue(0, _errors.Enqueue);
        var states = SubscriberPublisher<int>.EveryValue(_errors.Enqueue);
        connInfo.OnNext(7);
        connInfo.OnCompleted();
        states.OnNext(7);
        states.OnCompleted();
        var late = new Recorder<int>();
        var lateStates = new Recorder<int>();

        using (connInfo.Subscribe(late))
        using (states.Subscribe(lateStates))
        {
            late.Values.Should().Equal(7);
            late.Completed.IsSet.Should().BeTrue();
            lateStates.Values.Should().BeEmpty();
            lateStates.Completed.IsSet.Should().BeTrue();
        }

        connInfo.Value.Should().Be(7, "the value stays readable once completed");
        connInfo.OnNext(8);
        connInfo.Value.Should().Be(7, "nothing is published after completion");
    }

    [Fact]
    public void DisposeSubscription_WhileItsSubscriberIsBlocked_NothingMoreIsDelivered()
    {
        using var gate = new ManualResetEventSlim();
        var publisher = SubscriberPublisher<int>.EveryValue(_errors.Enqueue);
        var blocked = new Recorder<int>(onNext: v => { if (v == 1) { gate.Wait(Guard, TestContext.Current.CancellationToken); } });
        var witness = new Recorder<int>();
        var subscription = publisher.Subscribe(blocked);
        using var w = publisher.Subscribe(witness);
        publisher.OnNext(1);
        blocked.Entered.Wait(Guard, TestContext.Current.CancellationToken).Should().BeTrue();
        publisher.OnNext(2);

        subscription.Dispose();
        publisher.OnNext(3);
        publisher.OnCompleted();
        gate.Set();

        // The witness is served after the blocked subscriber's pump would have had its chance at 2 and 3 as well.
        witness.Completed.Wait(Guard, TestContext.Current.CancellationToken).Should().BeTrue();
        blocked.Exited.Wait(Guard, TestContext.Current.CancellationToken).Should().BeTrue();
        blocked.Values.Should().Equal([1], "the call in progress finishes, nothing after it is delivered");
        blocked.Completed.IsSet.Should().BeFalse();
    }

    /// <summary>Records what an observer gets; detects overlapping calls.</summary>
    private sealed class Recorder<T>(Action<T>? onNext = null) : IObserver<T>
    {
        private readonly List<T> _values = [];
        private int _inside;

        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Exited { get; } = new();

        public ManualResetEventSlim Completed { get; } = new();

        public bool Overlapped { get; private set; }

        public List<T> Values
        {
            get
            {
                lock (_values)
                {
                    return [.. _values];
                }
            }
        }

        public void OnNext(T value)
        {
            if (Interlocked.Increment(ref _inside) != 1)
            {
                Overlapped = true;
            }

            lock (_values)
            {
                _values.Add(value);
            }

            Entered.Set();
            try
            {
                onNext?.Invoke(value);
            }
            finally
            {
                Interlocked.Decrement(ref _inside);
                Exited.Set();
            }
        }

        public void OnError(Exception error) => throw new InvalidOperationException("not expected", error);

        public void OnCompleted() => Completed.Set();

        public void WaitForCount(int count) => WaitUntil(values => values.Count >= count);

        /// <summary>Re-checks whenever a call ends; bounded in real time.</summary>
        public void WaitUntil(Func<List<T>, bool> condition)
        {
            var started = TimeProvider.System.GetTimestamp();
            while (!condition(Values))
            {
                TimeProvider.System.GetElapsedTime(started).Should().BeLessThan(Guard, "the subscriber should have caught up by now");
                Exited.Reset();
                if (!condition(Values))
                {
                    Exited.Wait(TimeSpan.FromMilliseconds(50), TestContext.Current.CancellationToken);
                }
            }
        }
    }
}
