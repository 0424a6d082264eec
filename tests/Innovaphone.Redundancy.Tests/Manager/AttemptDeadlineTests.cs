using FluentAssertions;
using Innovaphone.Redundancy.Shell;
using Innovaphone.Redundancy.Tests.Scenarios;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Manager;

/// <summary>
/// One deadline per attempt (docs/adr/0002-attempt-deadline.md): AttemptTimeout cuts a silent attempt, and never one whose
/// user is signing in or confirming a two-factor code.
/// </summary>
public sealed class AttemptDeadlineTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(PbxLoginProgress.AwaitingSignIn)]
    [InlineData(PbxLoginProgress.AwaitingAuthorization)]
    public async Task UserBusyWithTheAttempt_AttemptTimeoutNoLongerApplies(PbxLoginProgress progress)
    {
        await using var h = new ScenarioHarness();
        var pbx = h.Sim.AddMaster("pbx.example.com");
        var transport = new WaitingTransport(progress);
        h.Create(pbx, o => o with { Transport = transport });
        await h.Manager.StartAsync(TestContext.Current.CancellationToken);
        await transport.Called.Task.WaitAsync(Guard, TestContext.Current.CancellationToken);
        await h.WaitUntilAsync(() => h.LogEventIds().Contains(Log.AwaitingUserId), "the suspended deadline logged");

        // Twelve attempt timeouts (5 s each) pass while the user signs in: nothing cuts the attempt.
        for (var i = 0; i < 12; i++)
        {
            h.Time.Advance(TimeSpan.FromSeconds(5));
            await Task.Yield();
        }

        transport.Cancelled.Should().BeFalse("no attempt timeout may cut a sign-in in progress");
        h.Changes.Should().NotContain(c => c.Current == RedundancyState.Failover);

        transport.Complete(pbx.Address);
        await h.WaitForStateAsync(RedundancyState.Connected);

        // Waited for, not read: the state change can reach its subscriber before the loop has published connInfo.
        await h.WaitForConnInfoAsync(c => c.Cur == pbx.Address, "connInfo on the PBX");
    }

    [Fact]
    public async Task SilentAttempt_IsCancelledAtAttemptTimeout()
    {
        await using var h = new ScenarioHarness();
        var pbx = h.Sim.AddMaster("pbx.example.com");
        var transport = new WaitingTransport(progress: null);
        h.Create(pbx, o => o with { Transport = transport });
        await h.Manager.StartAsync(TestContext.Current.CancellationToken);
        await transport.Called.Task.WaitAsync(Guard, TestContext.Current.CancellationToken);

        await h.AdvanceUntilAsync(() => transport.Cancelled, TimeSpan.FromSeconds(1), 10, "the attempt cancelled at its timeout");
        await h.WaitForStateAsync(RedundancyState.Failover);

        h.LogEventIds().Should().NotContain(Log.AwaitingUserId);
        h.Time.GetUtcNow().Should().BeOnOrAfter(new DateTimeOffset(2026, 11, 25, 12, 0, 5, TimeSpan.Zero), "not before AttemptTimeout (5 s)");
    }

    [Fact]
    public void Deadline_SuspendedBeforeItPasses_NeverPasses_AndAfterItPassed_CannotBeSuspended()
    {
        var time = new FakeTimeProvider();
        using var suspended = new AttemptDeadline(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2), time);
        using var passed = new AttemptDeadline(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2), time);

        suspended.Suspend().Should().BeTrue();
        suspended.Suspend().Should().BeFalse("suspended once, for good");
        time.Advance(TimeSpan.FromSeconds(5));

        suspended.Expired.Should().BeFalse();
        suspended.Token.IsCancellationRequested.Should().BeFalse();
        passed.Expired.Should().BeTrue();
        passed.Suspend().Should().BeFalse("the attempt was cancelled already");
        passed.Abandoned.IsCompleted.Should().BeFalse("the grace runs from the deadline");
        time.Advance(TimeSpan.FromSeconds(2));
        passed.Abandoned.IsCompleted.Should().BeTrue("2 s after the deadline the call is no longer waited for");
        suspended.Abandoned.IsCompleted.Should().BeFalse();
    }

    [Fact]
    public void Deadline_SuspendAfterDispose_IsHarmless()
    {
        var deadline = new AttemptDeadline(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2), new FakeTimeProvider());
        deadline.Dispose();

        deadline.Suspend().Should().BeFalse("a transport may report progress after its attempt ended");
    }

    /// <summary>A transport that reports <c>progress</c> (if any) and then waits for the test, honouring cancellation.</summary>
    private sealed class WaitingTransport(PbxLoginProgress? progress) : IPbxTransport
    {
        private readonly TaskCompletionSource<LoginOutcome> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _cancelled;

        public TaskCompletionSource Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Cancelled => _cancelled;

        public void Complete(PbxAddress pbx) => _outcome.TrySetResult(new LoggedIn(new OpenConnection(pbx), PbxLoginInfo.None));

        public async ValueTask<LoginOutcome> ConnectAsync(PbxLoginRequest request, CancellationToken cancellationToken)
        {
            if (Called.Task.IsCompleted)
            {
                return new AttemptFailed(AttemptFailureKind.Unreachable, "only the first call waits");
            }

            if (progress is { } value)
            {
                request.Progress?.Report(value);
            }

            Called.TrySetResult();
            try
            {
                return await _outcome.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                _cancelled = true;
                throw;
            }
        }
    }

    private sealed class OpenConnection(PbxAddress pbx) : IPbxConnection
    {
        private readonly TaskCompletionSource<ConnectionLoss> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public PbxAddress Pbx => pbx;

        public Task<ConnectionLoss> Lost => _lost.Task;

        public ValueTask DisposeAsync()
        {
            _lost.TrySetResult(new ConnectionLoss(ConnectionLossKind.ClosedByClient, "disposed"));
            return ValueTask.CompletedTask;
        }
    }
}
