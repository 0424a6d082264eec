using System.Reactive.Subjects;
using FluentAssertions;
using Innovaphone.Redundancy.Shared;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Tests.Scenarios;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.SharedCode;

/// <summary>
/// The warm-up of the failover path (issue 19 point 2): once per process after a manager's first login, in the
/// background, without the network or a PBX; cancelled when the manager leaves Connected/Standby, stops or is disposed;
/// failover behaves the same with it.
/// </summary>
[Collection(nameof(FailoverWarmUpTests))]
[CollectionDefinition(nameof(FailoverWarmUpTests), DisableParallelization = true)]
public sealed class FailoverWarmUpTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 6, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Run_CompilesTheLibrarysMethods_AndEnds()
    {
        var outcome = await FailoverWarmUp.RunAsync(TestContext.Current.CancellationToken);

        outcome.Prepared.Should().BeGreaterThan(500, "every method of the library's types outside Softphone is compiled");
        outcome.Loopback.Should().Be(new FailoverWarmUp.LoopbackOutcome { Reset = true, Refused = true }, "the loopback step runs after the in-memory ones");
    }

    [Fact]
    public async Task Loopback_ResetsAConnectionUnderAPendingReceive_AndIsRefused()
    {
        var outcome = await FailoverWarmUp.RunLoopbackAsync(TestContext.Current.CancellationToken);

        outcome.Skipped.Should().BeNull("the test machine has a loopback interface");
        outcome.Reset.Should().BeTrue("the client's receive failed when its server reset the connection");
        outcome.Refused.Should().BeTrue("the connect to a port that does not listen was refused");
    }

    [Fact]
    public async Task Loopback_Cancelled_ThrowsInsteadOfReportingASkip()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var run = () => FailoverWarmUp.RunLoopbackAsync(cancelled.Token);

        await run.Should().ThrowAsync<OperationCanceledException>("a cancelled run is left for a later login, not counted as done");
    }

    [Fact]
    public async Task Run_Cancelled_StopsWithoutFinishing()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var run = () => FailoverWarmUp.RunAsync(cancelled.Token);

        await run.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task Watch_FirstConnected_StartsOneRun_ThatEnds()
    {
        using var rig = new WatchRig();
        var (changes, background, completed) = (rig.Changes, rig.Background, rig.CompletedBefore);

        changes.OnNext(Change(RedundancyState.Connecting, RedundancyState.Connected));
        changes.OnNext(Change(RedundancyState.Connected, RedundancyState.Connected));

        background.Count.Should().Be(1, "one run, however many Connected changes");
        await background.WhenAllAsync(TestContext.Current.CancellationToken);
        FailoverWarmUp.Completed.Should().Be(completed + 1);
        FailoverWarmUp.LastCompleted.Should().Match<FailoverWarmUp.Outcome?>(o => o!.Value.Loopback.Reset && o.Value.Loopback.Refused, "the watcher's run includes the loopback step");
        changes.HasObservers.Should().BeFalse("once the process is warm, the watcher lets go of the manager's changes");
    }

    [Fact]
    public async Task Watch_LoopbackStepThatCannotRun_TellsWhy_AndTheRunStillEnds()
    {
        var reasons = new List<string>();
        var bound = FailoverWarmUp.LoopbackTimeout;
        FailoverWarmUp.LoopbackTimeout = TimeSpan.Zero;
        try
        {
            using var rig = new WatchRig(skipped: reasons.Add);

            rig.Changes.OnNext(Change(RedundancyState.Connecting, RedundancyState.Connected));
            await rig.Background.WhenAllAsync(TestContext.Current.CancellationToken);

            FailoverWarmUp.Completed.Should().Be(rig.CompletedBefore + 1, "the loopback step is best effort: the run ends without it");
            reasons.Should().ContainSingle("the manager logs why the step did not run (event 110)")
                .Which.Should().NotBeNullOrWhiteSpace();
        }
        finally
        {
            FailoverWarmUp.LoopbackTimeout = bound;
        }
    }

    [Fact]
    public async Task Watch_ARunThatEnds_ReleasesTheWatchersOfOtherManagersToo()
    {
        using var rig = new WatchRig();
        using var other = new Subject<RedundancyStateChange>();
        FailoverWarmUp.Watch(other, enabled: true, rig.Background, TimeProvider.System, TimeSpan.Zero);
        other.HasObservers.Should().BeTrue("a manager that has not logged in yet waits for its first login");

        rig.Changes.OnNext(Change(RedundancyState.Connecting, RedundancyState.Connected));
        await rig.Background.WhenAllAsync(TestContext.Current.CancellationToken);

        other.HasObservers.Should().BeFalse("the run ended: no manager of the process needs to start it again");
    }

    [Fact]
    public async Task Watch_LossWhileRunning_CancelsTheRun_AndTheNextLoginFinishesIt()
    {
        using var rig = new WatchRig();
        var (changes, background, completed) = (rig.Changes, rig.Background, rig.CompletedBefore);

        changes.OnNext(Change(RedundancyState.Connecting, RedundancyState.Connected));
        changes.OnNext(Change(RedundancyState.Connected, RedundancyState.Failover));
        await background.WhenAllAsync(TestContext.Current.CancellationToken);

        FailoverWarmUp.Completed.Should().Be(completed, "a loss stops the run before it competes with the failover");
        changes.OnNext(Change(RedundancyState.Failover, RedundancyState.Standby));
        background.Count.Should().Be(1, "the next login starts what was left");
        await background.WhenAllAsync(TestContext.Current.CancellationToken);
        FailoverWarmUp.Completed.Should().Be(completed + 1);
    }

    [Fact]
    public async Task Watch_WaitsForAStableConnection_AndALossBeforeThenCancelsTheWait()
    {
        var time = new FakeTimeProvider(At);
        using var rig = new WatchRig(time: time, delay: TimeSpan.FromSeconds(2));
        var (changes, background, completed) = (rig.Changes, rig.Background, rig.CompletedBefore);

        // Lost 1 s after the login: the failover runs without the warm-up.
        changes.OnNext(Change(RedundancyState.Connecting, RedundancyState.Connected));
        time.Advance(TimeSpan.FromSeconds(1));
        changes.OnNext(Change(RedundancyState.Connected, RedundancyState.Failover));
        await background.WhenAllAsync(TestContext.Current.CancellationToken);
        FailoverWarmUp.Completed.Should().Be(completed, "a connection lost before it proved stable never started the warm-up");

        // Up for 2 s: now it runs.
        changes.OnNext(Change(RedundancyState.Failover, RedundancyState.Standby));
        time.Advance(TimeSpan.FromSeconds(1.9));
        background.Count.Should().Be(1, "the run waits for the connection to prove stable");
        time.Advance(TimeSpan.FromSeconds(0.1));
        await background.WhenAllAsync(TestContext.Current.CancellationToken);
        FailoverWarmUp.Completed.Should().Be(completed + 1);
    }

    [Fact]
    public async Task Watch_CompletedChanges_CancelTheRun_AndStartNoOther()
    {
        using var rig = new WatchRig();
        var (changes, background, completed) = (rig.Changes, rig.Background, rig.CompletedBefore);

        changes.OnNext(Change(RedundancyState.Connecting, RedundancyState.Connected));
        changes.OnCompleted();
        await background.WhenAllAsync(TestContext.Current.CancellationToken);

        FailoverWarmUp.Completed.Should().Be(completed, "the manager's disposal completes its changes and cancels the run");
        background.Count.Should().Be(0);
    }

    [Fact]
    public void Watch_Disabled_RunsNothing()
    {
        using var rig = new WatchRig(enabled: false);
        var (changes, background) = (rig.Changes, rig.Background);

        changes.OnNext(Change(RedundancyState.Connecting, RedundancyState.Connected));

        changes.HasObservers.Should().BeFalse();
        background.Count.Should().Be(0);
    }

    [Fact]
    public async Task Manager_WithTheWarmUp_FailsOverAsWithout_AndAsksThePbxesNothingMore()
    {
        var with = await KillAndStandbyAsync(warmUp: true);
        var without = await KillAndStandbyAsync(warmUp: false);

        with.Should().Equal(without, "the same attempts, in the same order, at the same (fake) times");
    }

    /// <summary>
    /// Master with an explicit standby; up at the master, the warm-up given time to run, the master killed, up at the
    /// standby, the manager disposed (which waits for the warm-up): the attempts the PBXes saw, with their fake times.
    /// </summary>
    private static async Task<IReadOnlyList<string>> KillAndStandbyAsync(bool warmUp)
    {
        FailoverWarmUp.Forget();
        var completed = FailoverWarmUp.Completed;
        var h = new ScenarioHarness();
        await using (h.ConfigureAwait(false))
        {
            var master = h.Sim.AddMaster("master.example.com");
            var standby = h.Sim.AddStandby("standby.example.com", master);
            h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, master);
            await h.StartAsync(master, o => o with { WarmUp = warmUp });
            await h.WaitUpAsync(master);
            if (warmUp)
            {
                await h.WaitUntilAsync(() => FailoverWarmUp.Completed > completed, "the warm-up to run to its end");
            }

            h.Sim.Kill(master);
            await h.WaitUpAsync(standby, standby: true);
            await h.Manager.DisposeAsync();
            return [.. h.Sim.Attempts.Select(a => $"{a.Pbx} {a.Time:O} {a.Outcome}"), $"disposed at {h.Time.GetUtcNow():O}"];
        }
    }

    /// <summary>A watcher on changes the test sends, with the process's warm-up forgotten first.</summary>
    private sealed class WatchRig : IDisposable
    {
        public WatchRig(bool enabled = true, TimeProvider? time = null, TimeSpan delay = default, Action<string>? skipped = null)
        {
            FailoverWarmUp.Forget();
            CompletedBefore = FailoverWarmUp.Completed;
            FailoverWarmUp.Watch(Changes, enabled, Background, time ?? TimeProvider.System, delay, skipped);
        }

        public Subject<RedundancyStateChange> Changes { get; } = new();

        public BackgroundWork Background { get; } = new();

        /// <summary>Runs that had ended in this process before the watcher.</summary>
        public int CompletedBefore { get; }

        public void Dispose() => Changes.Dispose();
    }

    private static RedundancyStateChange Change(RedundancyState previous, RedundancyState current) =>
        new(previous, current, "test", null, 0, null, At);
}
