using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Tests.Scenarios;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Reliability;

/// <summary>
/// Issue 14: no transport, subscriber or store can wedge or leak the manager. Each test injects one faulty partner (a
/// transport that ignores cancellation, one that logs in despite it, subscribers that call back into the manager, a
/// store that never answers or throws) and checks, with bounded waits and virtual time, that failover, stop and dispose
/// go on and nothing is left behind.
/// </summary>
public sealed class HardeningTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task AttemptAbandoned_TransportIgnoresCancellation_RoundGoesOn_AndALateConnectionIsDisposed()
    {
        await using var h = new ScenarioHarness();
        var pbx = h.Sim.AddMaster("pbx.example.com");
        var transport = new IgnoringTransport();
        using var attempts = new AttemptCounter();
        h.Create(pbx, o => o with { Transport = transport });
        await h.Manager.StartAsync(TestContext.Current.CancellationToken);
        await transport.Called.Task.WaitAsync(Guard, TestContext.Current.CancellationToken);

        // Polly's timeout fires at AttemptTimeout (5 s) and cancels; the transport ignores it. The manager gives up on
        // the call at AttemptTimeout + 2 s and goes on with the round, which fails: Failover.
        await h.AdvanceUntilAsync(() => h.Changes.Any(c => c.Current == RedundancyState.Failover), TimeSpan.FromSeconds(1), 20, "failover after the abandoned attempt");

        h.LogEventIds().Should().Contain(Log.AttemptAbandonedId);
        attempts.Abandoned.Should().BeGreaterThanOrEqualTo(1);
        (transport.Late is not null).Should().BeTrue();

        // The transport returns a login long after: the manager closes it, nobody else will.
        var late = new TrackedConnection(pbx.Address);
        transport.Late!.SetResult(new LoggedIn(late, PbxLoginInfo.None));
        await late.Disposed.Task.WaitAsync(Guard, TestContext.Current.CancellationToken);
        h.Manager.Connection.Should().NotBeSameAs(late);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StopOrDispose_AttemptLogsInDespiteCancellation_ConnectionDisposedBeforeItReturns(bool dispose)
    {
        await using var h = new ScenarioHarness();
        var pbx = h.Sim.AddMaster("pbx.example.com");
        var transport = new IgnoringTransport();
        h.Create(pbx, o => o with { Transport = transport });
        await h.Manager.StartAsync(TestContext.Current.CancellationToken);
        await transport.Called.Task.WaitAsync(Guard, TestContext.Current.CancellationToken);

        var stopping = dispose ? h.Manager.DisposeAsync().AsTask() : h.Manager.StopAsync(TestContext.Current.CancellationToken);
        await h.WaitForStateAsync(RedundancyState.Stopped);

        // The login arrives after the machine has let go of the attempt; its close takes a while (it yields).
        var late = new TrackedConnection(pbx.Address, slowClose: true);
        transport.Late!.SetResult(new LoggedIn(late, PbxLoginInfo.None));
        await stopping.WaitAsync(Guard, TestContext.Current.CancellationToken);

        late.Disposed.Task.IsCompleted.Should().BeTrue("no connection outlives StopAsync or DisposeAsync");
        h.Manager.Connection.Should().BeNull();
        if (dispose)
        {
            await h.WaitCompletedAsync();
        }
    }

    public enum Reentry
    {
        StopFireAndForget,
        StopWait,
        DisposeFireAndForget,
        DisposeGetResult,
        StopThenStartWait,
        SubscribeAnother,
    }

    [Theory]
    [InlineData(Reentry.StopFireAndForget, false)]
    [InlineData(Reentry.StopWait, false)]
    [InlineData(Reentry.DisposeFireAndForget, false)]
    [InlineData(Reentry.DisposeGetResult, false)]
    [InlineData(Reentry.StopThenStartWait, false)]
    [InlineData(Reentry.SubscribeAnother, false)]
    [InlineData(Reentry.StopWait, true)]
    [InlineData(Reentry.DisposeGetResult, true)]
    [InlineData(Reentry.StopThenStartWait, true)]
    [InlineData(Reentry.SubscribeAnother, true)]
    public async Task Reentrancy_SubscriberCallsTheManager_FromItsCallback_DoesNotDeadlock(Reentry reentry, bool fromConnInfo)
    {
        await using var h = new ScenarioHarness();
        var pbx = h.Sim.AddMaster("pbx.example.com");
        h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, pbx);
        h.Create(pbx);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fired = 0;
        var inner = new TaskCompletionSource<ConnInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        var manager = h.Manager;

        void OnUp()
        {
            if (Interlocked.Exchange(ref fired, 1) != 0)
            {
                return;
            }

            try
            {
                switch (reentry)
                {
                    case Reentry.StopFireAndForget: _ = manager.StopAsync(); break;
                    case Reentry.StopWait: manager.StopAsync().Wait(); break;
                    case Reentry.DisposeFireAndForget: _ = manager.DisposeAsync().AsTask(); break;
                    case Reentry.DisposeGetResult: manager.DisposeAsync().AsTask().GetAwaiter().GetResult(); break;
                    case Reentry.StopThenStartWait: manager.StopAsync().Wait(); manager.StartAsync().Wait(); break;
                    case Reentry.SubscribeAnother: manager.ConnInfoChanges.Subscribe(i => { if (i.Up) { inner.TrySetResult(i); } }); break;
                }

                done.TrySetResult();
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        }

        using var subscription = fromConnInfo
            ? manager.ConnInfoChanges.Subscribe(i => { if (i.Up) { OnUp(); } })
            : manager.StateChanges.Subscribe(c => { if (c.Current == RedundancyState.Connected) { OnUp(); } });
        await manager.StartAsync(TestContext.Current.CancellationToken);

        await done.Task.WaitAsync(Guard, TestContext.Current.CancellationToken);
        switch (reentry)
        {
            case Reentry.StopFireAndForget or Reentry.StopWait:
                await h.WaitUntilAsync(() => manager.State == RedundancyState.Stopped && h.Sim.LiveConnectionCount == 0, "stopped, no login left");
                break;
            case Reentry.DisposeFireAndForget or Reentry.DisposeGetResult:
                await h.WaitCompletedAsync();
                h.Sim.LiveConnectionCount.Should().Be(0);
                break;
            case Reentry.StopThenStartWait:
                await h.WaitUntilAsync(() => h.Changes.Count(c => c.Current == RedundancyState.Connected) >= 2, "connected again");
                break;
            case Reentry.SubscribeAnother:
                // The two observables are not ordered with respect to each other: the inner subscriber sees up by replay or next.
                (await inner.Task.WaitAsync(Guard, TestContext.Current.CancellationToken)).Cur.Should().Be(pbx.Address);
                break;
        }

        await manager.DisposeAsync().AsTask().WaitAsync(Guard, TestContext.Current.CancellationToken);
        h.Sim.LiveConnectionCount.Should().Be(0);
    }

    [Fact]
    public async Task Store_LoadNeverReturns_StartGoesOnWithinTheBound_AndConnects()
    {
        await using var h = new ScenarioHarness { Store = new HangingStore(hangLoad: true, hangSave: false) };
        var pbx = h.Sim.AddMaster("pbx.example.com");
        h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, pbx);
        h.Create(pbx);

        var starting = h.Manager.StartAsync(TestContext.Current.CancellationToken);
        await h.AdvanceUntilAsync(() => starting.IsCompleted, TimeSpan.FromSeconds(1), 20, "StartAsync past a hanging load");
        await starting;
        await h.WaitUpAsync(pbx);
        h.LogEventIds().Should().Contain(Log.StoreLoadFailedId);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Store_SaveNeverReturns_StopAndDisposeReturnWithinTheBound(bool dispose)
    {
        var store = new HangingStore(hangLoad: false, hangSave: true);
        await using var h = new ScenarioHarness { Store = store };
        var pbx = h.Sim.AddMaster("pbx.example.com");
        h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, pbx);
        await h.StartAsync(pbx);
        await h.WaitUpAsync(pbx);
        await store.SaveEntered.Task.WaitAsync(Guard, TestContext.Current.CancellationToken);

        var stopping = dispose ? h.Manager.DisposeAsync().AsTask() : h.Manager.StopAsync(TestContext.Current.CancellationToken);
        await h.AdvanceUntilAsync(() => stopping.IsCompleted, TimeSpan.FromSeconds(1), 20, "stop past a hanging save");
        await stopping;
        h.LogEventIds().Should().Contain(Log.StoreSaveFailedId);
        h.Sim.LiveConnectionCount.Should().Be(0);

        // The save still hangs: disposing after the stop waits for it again, within the same bound on the same clock.
        var disposing = h.Manager.DisposeAsync().AsTask();
        await h.AdvanceUntilAsync(() => disposing.IsCompleted, TimeSpan.FromSeconds(1), 20, "dispose past a hanging save");
        await disposing;
    }

    [Fact]
    public async Task Store_Throws_IsLogged_AndTheManagerGoesOnInMemory()
    {
        await using var h = new ScenarioHarness { Store = new ThrowingStore() };
        var pbx = h.Sim.AddMaster("pbx.example.com");
        h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, pbx);
        await h.StartAsync(pbx);
        await h.WaitUpAsync(pbx);
        await h.WaitUntilAsync(() => h.LogEventIds().Contains(Log.StoreSaveFailedId), "the failed save logged");
        h.LogEventIds().Should().Contain(Log.StoreLoadFailedId);
        await h.Manager.StopAsync(TestContext.Current.CancellationToken).WaitAsync(Guard, TestContext.Current.CancellationToken);
    }

    /// <summary>A transport whose every call ignores cancellation and ends only when the test completes <see cref="Late"/>.</summary>
    private sealed class IgnoringTransport : IPbxTransport
    {
        public TaskCompletionSource Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<LoginOutcome>? Late { get; private set; }

        public ValueTask<LoginOutcome> ConnectAsync(PbxLoginRequest request, CancellationToken cancellationToken)
        {
            if (Late is not null)
            {
                // Later rounds fail at once: only the first call misbehaves.
                return ValueTask.FromResult<LoginOutcome>(new AttemptFailed(AttemptFailureKind.Unreachable, "down"));
            }

            Late = new TaskCompletionSource<LoginOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            Called.TrySetResult();
            return new ValueTask<LoginOutcome>(Late.Task);
        }
    }

    private sealed class TrackedConnection(PbxAddress pbx, bool slowClose = false) : IPbxConnection
    {
        private readonly TaskCompletionSource<ConnectionLoss> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Disposed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public PbxAddress Pbx => pbx;

        public Task<ConnectionLoss> Lost => _lost.Task;

        public async ValueTask DisposeAsync()
        {
            if (slowClose)
            {
                // A close that takes a few turns of the thread pool, as a real close handshake does: whoever does not
                // wait for it returns before it ends.
                for (var i = 0; i < 50; i++)
                {
                    await Task.Yield();
                }
            }

            _lost.TrySetResult(new ConnectionLoss(ConnectionLossKind.ClosedByClient, "disposed"));
            Disposed.TrySetResult();
        }
    }

    private sealed class HangingStore(bool hangLoad, bool hangSave) : IRedundancyStore
    {
        private readonly TaskCompletionSource _never = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource SaveEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask<RedundancyRecord?> LoadAsync(string key, CancellationToken cancellationToken)
        {
            if (hangLoad)
            {
                await _never.Task;
            }

            return null;
        }

        public async ValueTask SaveAsync(string key, RedundancyRecord record, CancellationToken cancellationToken)
        {
            SaveEntered.TrySetResult();
            if (hangSave)
            {
                await _never.Task;
            }
        }
    }

    private sealed class ThrowingStore : IRedundancyStore
    {
        public ValueTask<RedundancyRecord?> LoadAsync(string key, CancellationToken cancellationToken) =>
            throw new IOException("disk gone");

        public ValueTask SaveAsync(string key, RedundancyRecord record, CancellationToken cancellationToken) =>
            ValueTask.FromException(new IOException("disk gone"));
    }

    /// <summary>Counts abandoned attempts on the attempts counter, from any manager.</summary>
    private sealed class AttemptCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentBag<string> _outcomes = [];

        public AttemptCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == RedundancyTelemetry.Name && instrument.Name == RedundancyTelemetry.AttemptsInstrument)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == RedundancyTelemetry.OutcomeTag)
                    {
                        _outcomes.Add((string)tag.Value!);
                    }
                }
            });
            _listener.Start();
        }

        public int Abandoned => _outcomes.Count(o => o == "abandoned");

        public void Dispose() => _listener.Dispose();
    }
}
