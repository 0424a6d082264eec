using System.Collections.Concurrent;
using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Tests.Scenarios;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Reliability;

/// <summary>
/// R10: subscribers and the store never delay failover. A subscriber or a store save that blocks (on a gate the test
/// opens at the end, never a sleep) must leave the failover to the standby PBX exactly as it is without it, in virtual
/// time; other subscribers see it while the blocked one still waits. On the old design (publication and saves on the
/// manager's loop) each of these waits until the harness's guard gives up.
/// </summary>
public sealed class SlowSubscriberFailoverTests
{
    // Longer than the harness's guard, so that a loop held by the gate fails the test instead of passing late.
    private static readonly TimeSpan GateBound = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(Blocks.ConnInfo)]
    [InlineData(Blocks.StateChanges)]
    public async Task R10_BlockedSubscriber_DoesNotDelayFailover_AndOthersSeeTheStandby(Blocks blocks)
    {
        var baseline = await FailoverAsync(blocker: null);
        using var gate = new ManualResetEventSlim();
        var blocker = new Blocker(gate);
        try
        {
            var blocked = await FailoverAsync(blocker, blocks);

            blocker.Inside.Should().BeTrue("the subscriber is still blocked while the others see the standby");
            blocked.Should().Be(baseline, "a blocked subscriber changes neither the end state nor the attempts");
        }
        finally
        {
            gate.Set();
        }
    }

    [Fact]
    public async Task R10_BlockedConnInfoSubscriber_OnceReleased_EndsOnTheLatestValue_ThenCompletes()
    {
        await using var h = new ScenarioHarness();
        var (pbx, standby) = SingleWithStandby(h);
        using var gate = new ManualResetEventSlim();
        var blocker = new Blocker(gate);
        h.Create(pbx);
        using var subscription = h.Manager.ConnInfoChanges.Subscribe(i => blocker.OnNext(i.Up), blocker.OnCompleted);
        await h.Manager.StartAsync(TestContext.Current.CancellationToken);
        await h.WaitUpAsync(pbx);
        await blocker.WaitBlockedAsync();
        h.Sim.Kill(pbx);
        await h.WaitUpAsync(standby, standby: true);

        // Disposal does not wait for the blocked subscriber; the others get OnCompleted after their last value.
        await h.Manager.DisposeAsync().AsTask().WaitAsync(Guard, TestContext.Current.CancellationToken);
        await h.WaitCompletedAsync();
        blocker.Inside.Should().BeTrue();
        gate.Set();

        await blocker.Completed.WaitAsync(Guard, TestContext.Current.CancellationToken);
        blocker.Seen.Should().Equal([false, true, false], "the replay, the value it blocked on, then the latest (after stop), skipping the standby");
        h.ConnInfos[^1].Should().Be(h.Manager.ConnInfo, "the others end on the latest value too");
    }

    [Fact]
    public async Task R10_ThrowingSubscribers_HarmNeitherFailoverNorTheOtherSubscribers()
    {
        await using var h = new ScenarioHarness();
        var (pbx, standby) = SingleWithStandby(h);
        h.Create(pbx);
        var infoThrows = 0;
        var stateThrows = 0;
        using var badInfo = h.Manager.ConnInfoChanges.Subscribe(_ => { Interlocked.Increment(ref infoThrows); throw new InvalidOperationException("subscriber bug"); });
        using var badState = h.Manager.StateChanges.Subscribe(_ => { Interlocked.Increment(ref stateThrows); throw new InvalidOperationException("subscriber bug"); });
        await h.Manager.StartAsync(TestContext.Current.CancellationToken);
        await h.WaitUpAsync(pbx);
        h.Sim.Kill(pbx);
        await h.WaitUpAsync(standby, standby: true);

        // The harness's own subscribers got everything, in order: from Connecting to Standby, on to the standby PBX.
        var changes = h.Changes;
        changes.Select(c => c.Current).Should().StartWith(RedundancyState.Connecting).And.EndWith(RedundancyState.Standby).And.Contain(RedundancyState.Connected);
        changes.Zip(changes.Skip(1)).Should().OnlyContain(p => p.First.Current == p.Second.Previous);
        var infos = h.ConnInfos;
        infos.Zip(infos.Skip(1)).Should().OnlyContain(p => p.First != p.Second);
        infos[^1].Should().Be(h.Manager.ConnInfo);

        // State changes are queued: the throwing subscriber gets each one too, and keeps its subscription through every throw.
        await h.WaitUntilAsync(() => Volatile.Read(ref stateThrows) == changes.Count, "every change to reach the throwing subscriber too");
        Volatile.Read(ref infoThrows).Should().BeGreaterThan(1, "the subscription outlived its first throw");
        await h.WaitUntilAsync(
            () => h.LogEventIds().Count(id => id == Log.SubscriberFailedId) == Volatile.Read(ref infoThrows) + Volatile.Read(ref stateThrows),
            "each throw to be logged");
    }

    [Fact]
    public async Task R10_BlockedStoreSave_DoesNotDelayFailover_AndStopWaitsForIt()
    {
        await using var h = new ScenarioHarness();
        var master = h.Sim.AddMaster("master.example.com");
        var slave = h.Sim.AddSlave("slave.example.com", master);
        h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, slave);
        var store = new GatedStore();
        h.Store = store;
        try
        {
            await h.StartAsync(master);

            // The determination after the redirect is saved; the save blocks, the machine goes on.
            await h.WaitUpAsync(slave);
            await store.Started.WaitAsync(Guard, TestContext.Current.CancellationToken);
            h.Sim.Kill(slave);
            await h.WaitUpAsync(master, standby: true);

            var stop = h.Manager.StopAsync(TestContext.Current.CancellationToken);
            await h.WaitUntilAsync(() => h.Changes[^1].Current == RedundancyState.Stopped && h.Sim.LiveConnectionCount == 0, "the stop to be processed");
            stop.IsCompleted.Should().BeFalse("the save queued before the stop is still blocked");
            store.Saved.Should().BeEmpty();

            store.Release();
            await stop.WaitAsync(Guard, TestContext.Current.CancellationToken);
            store.InProgress.Should().Be(0, "every save queued before the stop is done when it returns");
            store.Saved.Should().NotBeEmpty().And.EndWith(new RedundancyRecord(master.Address, slave.Address, slave.Address) { HomeMaster = master.Address });
            h.LogEventIds().Should().Contain(Log.StoppedId);
        }
        finally
        {
            store.Release();
        }
    }

    private static (SimulatedPbx Pbx, SimulatedPbx Standby) SingleWithStandby(ScenarioHarness h)
    {
        var pbx = h.Sim.AddMaster("pbx.example.com");
        var standby = h.Sim.AddStandby("standby.example.com", pbx);
        h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, pbx);
        return (pbx, standby);
    }

    /// <summary>
    /// Up on the PBX, the PBX dies, up on its standby PBX; with <paramref name="blocker"/> subscribed and blocked
    /// from the first "up" on. Returns what the failover came to, for comparison with a run without a blocker.
    /// </summary>
    private static async Task<(RedundancyState State, ConnInfo ConnInfo, int Attempts, TimeSpan Elapsed)> FailoverAsync(Blocker? blocker, Blocks blocks = Blocks.ConnInfo)
    {
        await using var h = new ScenarioHarness();
        var (pbx, standby) = SingleWithStandby(h);
        h.Create(pbx);
        using var subscription = blocker is null
            ? null
            : blocks == Blocks.ConnInfo
                ? h.Manager.ConnInfoChanges.Subscribe(i => blocker.OnNext(i.Up))
                : h.Manager.StateChanges.Subscribe(c => blocker.OnNext(c.Current == RedundancyState.Connected));
        var started = h.Time.GetUtcNow();
        await h.Manager.StartAsync(TestContext.Current.CancellationToken);
        await h.WaitUpAsync(pbx);
        if (blocker is not null)
        {
            await blocker.WaitBlockedAsync();
        }

        h.Sim.Kill(pbx);
        await h.WaitUpAsync(standby, standby: true);
        return (h.Manager.State, h.Manager.ConnInfo, h.Sim.Attempts.Count, h.Time.GetUtcNow() - started);
    }

    public enum Blocks
    {
        ConnInfo,
        StateChanges,
    }

    /// <summary>A subscriber that blocks on the gate from the first true value it gets (never during the replay of false).</summary>
    private sealed class Blocker(ManualResetEventSlim gate)
    {
        private readonly TaskCompletionSource _blocked = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentQueue<bool> _seen = new();
        private int _inside;

        public bool Inside => Volatile.Read(ref _inside) == 1;

        public IReadOnlyList<bool> Seen => [.. _seen];

        public Task Completed => _completed.Task;

        public Task WaitBlockedAsync() => _blocked.Task.WaitAsync(Guard, TestContext.Current.CancellationToken);

        public void OnNext(bool value)
        {
            _seen.Enqueue(value);
            if (value && !_blocked.Task.IsCompleted)
            {
                Volatile.Write(ref _inside, 1);
                _blocked.TrySetResult();
                gate.Wait(GateBound, TestContext.Current.CancellationToken);
                Volatile.Write(ref _inside, 0);
            }
        }

        public void OnCompleted() => _completed.TrySetResult();
    }

    /// <summary>A store whose saves wait for <see cref="Release"/>; loads find nothing.</summary>
    private sealed class GatedStore : IRedundancyStore
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentQueue<RedundancyRecord> _saved = new();
        private int _inProgress;

        public Task Started => _started.Task;

        public int InProgress => Volatile.Read(ref _inProgress);

        public IReadOnlyList<RedundancyRecord> Saved => [.. _saved];

        public void Release() => _gate.TrySetResult();

        public ValueTask<RedundancyRecord?> LoadAsync(string key, CancellationToken cancellationToken) => ValueTask.FromResult<RedundancyRecord?>(null);

        public async ValueTask SaveAsync(string key, RedundancyRecord record, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _inProgress);
            _started.TrySetResult();
            try
            {
                await _gate.Task.WaitAsync(cancellationToken);
                _saved.Enqueue(record);
            }
            finally
            {
                Interlocked.Decrement(ref _inProgress);
            }
        }
    }
}
