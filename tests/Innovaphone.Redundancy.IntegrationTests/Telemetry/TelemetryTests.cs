using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using FluentAssertions;
using Innovaphone.Redundancy.Tests.Integration;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Telemetry;

/// <summary>
/// The manager's metrics (through a meter factory of the test's own, so that parallel tests do not mix) and its spans
/// (filtered by the PBX tag, as an <see cref="ActivityListener"/> sees the whole process).
/// </summary>
public sealed class TelemetryTests : IAsyncDisposable
{
    private readonly ScenarioHarness _h = new();
    private readonly TestMeterFactory _meters = new();

    public async ValueTask DisposeAsync()
    {
        await _h.DisposeAsync();
        _meters.Dispose();
    }

    [Fact]
    public async Task Metrics_RedirectThenLogin_CountAttemptsByOutcomeRedirectsAndUp()
    {
        var master = _h.Sim.AddMaster("tm-master.example.com");
        var slave = _h.Sim.AddSlave("tm-slave.example.com", master);
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, slave);
        using var attempts = Collect<long>(RedundancyTelemetry.AttemptsInstrument);
        using var redirects = Collect<long>(RedundancyTelemetry.RedirectsInstrument);
        using var up = Collect<long>(RedundancyTelemetry.UpInstrument);

        await _h.StartAsync(master, o => o with { MeterFactory = _meters });
        await _h.WaitUpAsync(slave);

        attempts.GetMeasurementSnapshot().Select(m => m.Tags[RedundancyTelemetry.OutcomeTag]).Should().Equal("redirected", "logged_in");
        redirects.GetMeasurementSnapshot().Sum(m => m.Value).Should().Be(1);
        up.GetMeasurementSnapshot().Sum(m => m.Value).Should().Be(1, "one manager is up");

        await _h.Manager.StopAsync(TestContext.Current.CancellationToken);
        up.GetMeasurementSnapshot().Sum(m => m.Value).Should().Be(0, "stop takes it down again");
    }

    [Fact]
    public async Task Metrics_StandbyLoginAfterLoss_CountsAFailoverAndAStandbyLogin()
    {
        var pbx = _h.Sim.AddMaster("tm-single.example.com");
        var standby = _h.Sim.AddStandby("tm-standby.example.com", pbx);
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, pbx);
        using var failovers = Collect<long>(RedundancyTelemetry.FailoversInstrument);
        using var standbyLogins = Collect<long>(RedundancyTelemetry.StandbyLoginsInstrument);
        using var recovered = Collect<double>(RedundancyTelemetry.TimeToRecoverInstrument);

        await _h.StartAsync(pbx, o => o with { MeterFactory = _meters });
        await _h.WaitUpAsync(pbx);
        _h.Sim.Kill(pbx);
        await _h.WaitUpAsync(standby, standby: true);

        failovers.GetMeasurementSnapshot().Sum(m => m.Value).Should().Be(1);
        standbyLogins.GetMeasurementSnapshot().Sum(m => m.Value).Should().Be(1);
        recovered.GetMeasurementSnapshot().Should().ContainSingle().Which.Value.Should().Be(0, "virtual time did not move");
    }

    [Fact]
    public async Task Metrics_TimeToRecover_IsTheTimeFromTheLossUntilUpAgain()
    {
        var pbx = _h.Sim.AddMaster("tm-ttr.example.com");
        var standby = _h.Sim.AddStandby("tm-ttr-standby.example.com", pbx);
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, pbx);
        using var recovered = Collect<double>(RedundancyTelemetry.TimeToRecoverInstrument);
        using var failovers = Collect<long>(RedundancyTelemetry.FailoversInstrument);

        await _h.StartAsync(pbx, o => o with { MeterFactory = _meters });
        await _h.WaitUpAsync(pbx);
        var upChanges = _h.Changes.Count;
        _h.Sim.Kill(standby);
        _h.Sim.Kill(pbx);
        await _h.SkipBackoffAsync();
        await _h.SkipBackoffAsync();
        await _h.WaitForFailoversAsync(3);
        _h.Sim.Revive(pbx);
        await _h.SkipBackoffAsync();
        await _h.WaitUpAsync(pbx);

        var lost = _h.Changes.Skip(upChanges).First().Timestamp;
        var back = _h.Changes.Last(c => c.Current == RedundancyState.Connected).Timestamp;
        var value = recovered.GetMeasurementSnapshot().Should().ContainSingle().Subject.Value;
        value.Should().Be((back - lost).TotalSeconds).And.BeGreaterThanOrEqualTo(7, "three backoffs of 1, 2 and 4 s passed");
        failovers.GetMeasurementSnapshot().Sum(m => m.Value).Should().Be(1, "failed rounds within one outage are one failover");
    }

    [Fact]
    public async Task Metrics_WrongPassword_IsARejectedAttempt_AndNoFailover()
    {
        var pbx = _h.Sim.AddMaster("tm-reject.example.com");
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, pbx);
        using var attempts = Collect<long>(RedundancyTelemetry.AttemptsInstrument);
        using var failovers = Collect<long>(RedundancyTelemetry.FailoversInstrument);

        _h.Create(pbx, o => o with { MeterFactory = _meters }, password: "wrong-password");
        await _h.Manager.StartAsync(TestContext.Current.CancellationToken);
        await _h.WaitForStateAsync(RedundancyState.Faulted);

        attempts.GetMeasurementSnapshot().Should().ContainSingle().Which.Tags[RedundancyTelemetry.OutcomeTag].Should().Be("rejected");
        failovers.GetMeasurementSnapshot().Should().BeEmpty();
    }

    [Fact]
    public async Task Spans_OverLoopback_AttemptIsTheParentOfTheLogin_AndARejectionIsAnErrorWithoutSecrets()
    {
        await using var loopback = new LoopbackHarness();
        var pbx = await loopback.Emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        loopback.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, pbx);
        var spans = new ConcurrentQueue<Activity>();
        using var listener = ListenToSpans(pbx.Address.ToString(), spans);

        await loopback.StartAsync(pbx);
        await loopback.WaitUpAsync(pbx);

        var attempt = spans.Should().ContainSingle(a => a.OperationName == RedundancyTelemetry.AttemptActivity).Subject;
        var login = spans.Should().ContainSingle(a => a.OperationName == RedundancyTelemetry.LoginActivity).Subject;
        login.ParentSpanId.Should().Be(attempt.SpanId);
        attempt.Parent.Should().BeNull("each attempt is a trace of its own");
        attempt.GetTagItem(RedundancyTelemetry.OutcomeTag).Should().Be("logged_in");
        attempt.Status.Should().Be(ActivityStatusCode.Unset);
    }

    [Fact]
    public async Task Spans_WrongPassword_AreErrors_WhoseDescriptionHoldsNoSecret()
    {
        await using var loopback = new LoopbackHarness();
        var pbx = await loopback.Emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        loopback.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, pbx);
        var spans = new ConcurrentQueue<Activity>();
        using var listener = ListenToSpans(pbx.Address.ToString(), spans);

        await loopback.StartAsync(pbx, transport: o => o with { Password = "Wrong-Pa55-word" });
        await loopback.WaitForStateAsync(RedundancyState.Faulted);

        // Under load an attempt may also time out first; the rejection is one attempt span with its login span.
        spans.Should().OnlyContain(a => a.Status == ActivityStatusCode.Error);
        var rejected = spans.Where(a => (string?)a.GetTagItem(RedundancyTelemetry.OutcomeTag) == "rejected").ToList();
        rejected.Select(a => a.OperationName).Should().BeEquivalentTo([RedundancyTelemetry.AttemptActivity, RedundancyTelemetry.LoginActivity]);
        spans.Select(a => a.StatusDescription ?? string.Empty)
            .Should().OnlyContain(d => !d.Contains("Wrong-Pa55-word", StringComparison.Ordinal) && !d.Contains(LoopbackHarness.Password, StringComparison.Ordinal));
    }

    /// <summary>Collects the library's finished spans about <paramref name="pbx"/> (the listener sees the whole process).</summary>
    private static ActivityListener ListenToSpans(string pbx, ConcurrentQueue<Activity> spans)
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RedundancyTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if ((activity.GetTagItem(RedundancyTelemetry.PbxTag) as string) == pbx)
                {
                    spans.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }

    private MetricCollector<T> Collect<T>(string instrument)
        where T : struct => new(_meters, RedundancyTelemetry.Name, instrument);

    /// <summary>A meter factory whose meters carry it as their scope, the way a DI container's does.</summary>
    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly ConcurrentBag<Meter> _created = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
            _created.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (var meter in _created)
            {
                meter.Dispose();
            }
        }
    }
}
