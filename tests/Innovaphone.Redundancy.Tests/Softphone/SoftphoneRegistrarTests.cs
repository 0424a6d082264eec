using System.Collections.Concurrent;
using System.Reactive.Subjects;
using FluentAssertions;
using Innovaphone.Redundancy.Softphone;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Softphone;

/// <summary>The stateful rules of <see cref="SoftphoneRegistrar"/>, fed by a hand-driven connInfo source; one test per rule.</summary>
public sealed class SoftphoneRegistrarTests : IDisposable
{
    private static readonly PbxAddress Pri = PbxAddress.Parse("master.example.com/PBX0");
    private static readonly PbxAddress Sec = PbxAddress.Parse("standby.example.com/PBX0");
    private static readonly PbxAddress Slave1 = PbxAddress.Parse("slave1.example.com/PBX0");
    private static readonly PbxAddress Slave2 = PbxAddress.Parse("slave2.example.com/PBX0");

    private readonly BehaviorSubject<ConnInfo> _connInfo = new(new ConnInfo(true, false, Pri, Pri, Sec, null));
    private readonly ConcurrentQueue<SoftphoneRegistration> _published = new();
    private readonly FakeLoggerProvider _logs = new();
    private readonly ILoggerFactory _loggerFactory;

    public SoftphoneRegistrarTests() =>
        _loggerFactory = LoggerFactory.Create(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Trace));

    public void Dispose()
    {
        _loggerFactory.Dispose();
        _connInfo.Dispose();
    }

    private SoftphoneRegistrar Create(SoftphoneHostKind host = SoftphoneHostKind.Launcher, int maxRedirectHops = 5)
    {
        var registrar = new SoftphoneRegistrar(_connInfo, new SoftphoneRegistrationOptions
        {
            HostKind = host,
            MaxRedirectHops = maxRedirectHops,
            LoggerFactory = _loggerFactory,
        });
        registrar.Decisions.Subscribe(_published.Enqueue);
        return registrar;
    }

    private IEnumerable<int> LogIds() => _logs.Collector.GetSnapshot().Select(r => r.Id.Id);

    [Fact]
    public void Launcher_FirstFlow_StartsAtThePrimary()
    {
        using var registrar = Create();

        registrar.Current.Status.Should().Be(SoftphoneRegistrationStatus.Registering);
        registrar.Current.Target.Should().Be(Pri);
        registrar.Current.PhysicalLocation.Should().Be(SoftphonePhysicalLocation.OfPrimary(Pri));
    }

    [Fact]
    public void Launcher_Alternation_EachFailureMovesToTheOtherPbx()
    {
        using var registrar = Create();

        var targets = new List<PbxAddress?>();
        for (var i = 0; i < 4; i++)
        {
            targets.Add(registrar.ReportFailure(registrar.Current.Target!).Target);
        }

        targets.Should().Equal(Sec, Pri, Sec, Pri);
        registrar.Current.Failures.Should().Be(4);
        registrar.Current.Status.Should().Be(SoftphoneRegistrationStatus.Registering);
    }

    [Fact]
    public void Launcher_WithoutSecondary_FailureRetriesThePrimary()
    {
        _connInfo.OnNext(new ConnInfo(false, false, Pri, Pri, null, null));
        using var registrar = Create();

        registrar.ReportFailure(Pri).Target.Should().Be(Pri);
        registrar.ReportFailure(Pri).Target.Should().Be(Pri);
    }

    [Fact]
    public void Redirect_IsFollowed_UntilRegisteredAtTheUsersPbx()
    {
        using var registrar = Create();

        registrar.ReportRedirect(Pri, Slave1).Should().Match<SoftphoneRegistration>(d =>
            d.Status == SoftphoneRegistrationStatus.Redirected && d.Target == Slave1 && d.RedirectHops == 1);
        registrar.ReportRedirect(Slave1, Slave2).Target.Should().Be(Slave2);
        var registered = registrar.ReportRegistered(Slave2);

        registered.Status.Should().Be(SoftphoneRegistrationStatus.Registered);
        registered.Target.Should().Be(Slave2);
        registered.RedirectHops.Should().Be(2);
        registered.PhysicalLocation.Should().Be(SoftphonePhysicalLocation.OfPrimary(Pri), "a redirect does not move the physical location");
    }

    [Fact]
    public void Redirect_BackToAPbxOfTheSameFlow_IsRefusedAsALoop_AndTheFlowFails()
    {
        using var registrar = Create();
        registrar.ReportRedirect(Pri, Slave1);

        var after = registrar.ReportRedirect(Slave1, Pri);

        after.Status.Should().Be(SoftphoneRegistrationStatus.Registering);
        after.Target.Should().Be(Sec, "a failed flow that started at the primary continues at the secondary");
        after.Failures.Should().Be(1);
        after.RedirectHops.Should().Be(0);
        LogIds().Should().Contain(SoftphoneLog.RedirectRefusedId);
    }

    [Fact]
    public void Redirect_BeyondTheHopLimit_IsRefused_AndTheFlowFails()
    {
        using var registrar = Create(maxRedirectHops: 2);
        registrar.ReportRedirect(Pri, Slave1);
        registrar.ReportRedirect(Slave1, Slave2).RedirectHops.Should().Be(2);

        var after = registrar.ReportRedirect(Slave2, PbxAddress.Parse("slave3.example.com/PBX0"));

        after.Status.Should().Be(SoftphoneRegistrationStatus.Registering);
        after.Target.Should().Be(Sec);
        LogIds().Should().Contain(SoftphoneLog.RedirectRefusedId);
    }

    [Fact]
    public void Redirect_HopLimitZero_RefusesEveryRedirect()
    {
        using var registrar = Create(maxRedirectHops: 0);

        registrar.ReportRedirect(Pri, Slave1).Target.Should().Be(Sec);
    }

    [Fact]
    public void Standby_APbxThatKeepsTheRegistration_EndsTheFlowWithoutAlternation()
    {
        using var registrar = Create();
        registrar.ReportFailure(Pri);

        var standby = registrar.ReportRegistered(Sec, standby: true);

        standby.Status.Should().Be(SoftphoneRegistrationStatus.RegisteredStandby);
        standby.Target.Should().Be(Sec);
        standby.Failures.Should().Be(0);
        registrar.ReportRegistered(Sec, standby: true).Should().BeSameAs(standby, "a refresh of the same registration changes nothing");
    }

    [Fact]
    public void Standby_WhenTheStandbyPbxSendsTheSoftphoneHome_ANewFlowFollowsTheRedirect()
    {
        using var registrar = Create();
        registrar.ReportRedirect(Pri, Slave1);
        registrar.ReportFailure(Slave1);
        registrar.ReportRegistered(Sec, standby: true);

        // Pri was visited by the earlier flow, not by this one: the redirect is not a loop.
        var home = registrar.ReportRedirect(Sec, Pri);

        home.Status.Should().Be(SoftphoneRegistrationStatus.Redirected);
        home.Target.Should().Be(Pri);
        home.RedirectHops.Should().Be(1);
    }

    [Fact]
    public void Registration_Lost_IsAFailure_AndMovesToTheOtherPbx()
    {
        using var registrar = Create();
        registrar.ReportRegistered(Pri);

        registrar.ReportFailure(Pri).Target.Should().Be(Sec);
    }

    [Fact]
    public void Report_AboutAPbxOtherThanTheTarget_IsIgnored()
    {
        using var registrar = Create();
        var before = registrar.Current;

        registrar.ReportFailure(Sec).Should().BeSameAs(before);
        registrar.ReportRegistered(Slave1).Should().BeSameAs(before);
        registrar.ReportRedirect(Slave1, Slave2).Should().BeSameAs(before);
        LogIds().Count(id => id == SoftphoneLog.ReportIgnoredId).Should().Be(3);
    }

    [Fact]
    public void Browser_AlwaysRegistersToCur_AndAFailureRetriesCur()
    {
        _connInfo.OnNext(new ConnInfo(true, false, Slave2, Pri, Sec, null));
        using var registrar = Create(SoftphoneHostKind.Browser);

        registrar.Current.Target.Should().Be(Slave2);
        registrar.ReportFailure(Slave2).Target.Should().Be(Slave2);

        _connInfo.OnNext(new ConnInfo(true, true, Sec, Pri, Sec, null));
        registrar.Current.Should().Match<SoftphoneRegistration>(d => d.Target == Sec && d.Status == SoftphoneRegistrationStatus.Registering);

        _connInfo.OnNext(new ConnInfo(false, true, Sec, Pri, Sec, null));
        registrar.Current.Should().Match<SoftphoneRegistration>(d => d.Target == null && d.Status == SoftphoneRegistrationStatus.Idle);
    }

    [Fact]
    public void Browser_ConnInfoChangeBackToTheRegisteredPbx_KeepsTheRegistration()
    {
        _connInfo.OnNext(new ConnInfo(true, true, Sec, Pri, Sec, null));
        using var registrar = Create(SoftphoneHostKind.Browser);
        registrar.ReportRedirect(Sec, Pri);
        registrar.ReportRegistered(Pri);

        _connInfo.OnNext(new ConnInfo(true, false, Pri, Pri, Sec, null));

        registrar.Current.Should().Match<SoftphoneRegistration>(d => d.Target == Pri && d.Status == SoftphoneRegistrationStatus.Registered);
        registrar.Current.Plan.Targets.Should().Equal(Pri);
    }

    [Fact]
    public void FirstConnInfo_WithNothingToRegisterTo_IsPublishedAsADecision()
    {
        _connInfo.OnNext(new ConnInfo(false, false, null, Pri, Sec, null));
        using var registrar = Create(SoftphoneHostKind.Browser);

        registrar.Current.Status.Should().Be(SoftphoneRegistrationStatus.Idle);
        registrar.Current.Should().NotBeSameAs(SoftphoneRegistrarState.Initial.Decision, "the reason must say why, not that no connInfo arrived");
        registrar.Current.Reason.Should().Contain("down");
    }

    [Fact]
    public void Browser_PhysWithoutExplicitValue_IsNone()
    {
        using var registrar = Create(SoftphoneHostKind.Browser);

        registrar.Current.PhysicalLocation.Should().BeSameAs(SoftphonePhysicalLocation.None);
    }

    [Fact]
    public void ConnInfoChange_OfPrimaryOrSecondary_ResetsTheAlternation()
    {
        using var registrar = Create();
        registrar.ReportFailure(Pri);
        registrar.ReportRedirect(Sec, Slave1);
        registrar.Current.Should().Match<SoftphoneRegistration>(d => d.Target == Slave1 && d.Failures == 1);

        _connInfo.OnNext(new ConnInfo(true, false, Pri, Pri, Slave2, null));

        registrar.Current.Should().Match<SoftphoneRegistration>(d =>
            d.Status == SoftphoneRegistrationStatus.Registering && d.Target == Pri && d.Failures == 0 && d.RedirectHops == 0);
        registrar.ReportFailure(Pri).Target.Should().Be(Slave2);
    }

    [Fact]
    public void ConnInfoChange_OfPrimaryOrSecondary_KeepsARegistrationInPlace()
    {
        _connInfo.OnNext(new ConnInfo(true, false, Pri, Pri, null, null));
        using var registrar = Create();
        registrar.ReportRegistered(Pri);

        _connInfo.OnNext(new ConnInfo(true, false, Pri, Pri, Sec, null));

        registrar.Current.Should().Match<SoftphoneRegistration>(d => d.Status == SoftphoneRegistrationStatus.Registered && d.Target == Pri);
        registrar.Current.Plan.Targets.Should().Equal(Pri, Sec);
        registrar.ReportFailure(Pri).Target.Should().Be(Sec, "the new secondary takes part in the alternation");
    }

    [Fact]
    public void ConnInfoChange_ThatLeavesThePlanAlone_PublishesNothing()
    {
        using var registrar = Create();
        var before = _published.Count;

        _connInfo.OnNext(new ConnInfo(false, false, Pri, Pri, Sec, null));
        _connInfo.OnNext(new ConnInfo(true, true, Sec, Pri, Sec, null));

        _published.Should().HaveCount(before);
    }

    [Fact]
    public void ConnInfoChange_OfPhysOnly_UpdatesTheLocationAndKeepsTheFlow()
    {
        using var registrar = Create();
        registrar.ReportRedirect(Pri, Slave1);

        _connInfo.OnNext(new ConnInfo(true, false, Pri, Pri, Sec, "room-12"));

        registrar.Current.Should().Match<SoftphoneRegistration>(d => d.Target == Slave1 && d.Status == SoftphoneRegistrationStatus.Redirected);
        registrar.Current.PhysicalLocation.Should().Be(SoftphonePhysicalLocation.Explicit("room-12"));
    }

    [Fact]
    public void Decisions_ReplayTheLatestToANewSubscriber_AndPublishEachChangeInOrder()
    {
        using var registrar = Create();
        registrar.ReportFailure(Pri);
        registrar.ReportRegistered(Sec);

        _published.Select(d => (d.Status, d.Target)).Should().Equal(
            (SoftphoneRegistrationStatus.Registering, Pri),
            (SoftphoneRegistrationStatus.Registering, Sec),
            (SoftphoneRegistrationStatus.Registered, Sec));
        SoftphoneRegistration? replayed = null;
        using (registrar.Decisions.Subscribe(d => replayed = d))
        {
            replayed.Should().BeSameAs(registrar.Current);
        }
    }

    [Fact]
    public void Decisions_ASubscriberThatThrows_IsLoggedAndDoesNotStopTheOthers()
    {
        using var registrar = Create();
        using var faulty = registrar.Decisions.Subscribe(_ => throw new InvalidOperationException("subscriber bug"));
        var seen = new List<SoftphoneRegistration>();
        using var healthy = registrar.Decisions.Subscribe(seen.Add);

        registrar.ReportFailure(Pri);

        seen.Select(d => d.Target).Should().Equal(Pri, Sec);
        LogIds().Count(id => id == SoftphoneLog.SubscriberFailedId).Should().Be(2, "the replay and the change each threw");
    }

    [Fact]
    public void Decisions_AReportFromASubscriberHandler_IsDeliveredAfterTheCurrentDecisionToEveryone()
    {
        using var registrar = Create();
        var first = new List<PbxAddress?>();
        var second = new List<PbxAddress?>();
        using var reporter = registrar.Decisions.Subscribe(d =>
        {
            first.Add(d.Target);
            if (d.Target == Sec && d.Status == SoftphoneRegistrationStatus.Registering)
            {
                registrar.ReportRegistered(Sec, standby: true);
            }
        });
        using var observer = registrar.Decisions.Subscribe(d => second.Add(d.Target));

        registrar.ReportFailure(Pri);

        first.Should().Equal(Pri, Sec, Sec);
        second.Should().Equal(Pri, Sec, Sec);
        registrar.Current.Status.Should().Be(SoftphoneRegistrationStatus.RegisteredStandby);
    }

    [Fact]
    public async Task Reports_FromManyThreads_AreAppliedOneAtATime_AndPublishedInOrder()
    {
        using var registrar = Create();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Each worker fails whatever the target is when it looks; a report that lost the race is ignored. Every
        // applied report can invalidate at most the three other workers' reads, so at least 2000 / 4 apply.
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            await start.Task;
            for (var i = 0; i < 500; i++)
            {
                registrar.ReportFailure(registrar.Current.Target!);
            }
        }, TestContext.Current.CancellationToken)).ToArray();
        start.SetResult();
        await Task.WhenAll(workers);

        var failures = _published.Skip(1).Select(d => d.Failures).ToList();
        failures.Should().Equal(Enumerable.Range(1, registrar.Current.Failures), "every applied failure is published once, in order");
        failures.Count.Should().BeGreaterThanOrEqualTo(500);
        _published.Skip(1).Select(d => d.Target).Should().Equal(
            Enumerable.Range(1, failures.Count).Select(n => n % 2 == 1 ? Sec : Pri), "the alternation never skips a step");
    }

    [Fact]
    public void Dispose_Unsubscribes_CompletesDecisions_AndRefusesReports()
    {
        var registrar = Create();
        var completed = false;
        using var watcher = registrar.Decisions.Subscribe(_ => { }, () => completed = true);
        _connInfo.HasObservers.Should().BeTrue();

        registrar.Dispose();
        registrar.Dispose();

        _connInfo.HasObservers.Should().BeFalse();
        completed.Should().BeTrue();
        registrar.Invoking(r => r.ReportFailure(Pri)).Should().Throw<ObjectDisposedException>();
        var late = false;
        registrar.Decisions.Subscribe(_ => { }, () => late = true).Dispose();
        late.Should().BeTrue("a subscriber after the end only learns that the decisions completed");
    }

    [Fact]
    public void ConnInfoSource_Completing_CompletesDecisions()
    {
        using var registrar = Create();
        var completed = false;
        using var watcher = registrar.Decisions.Subscribe(_ => { }, () => completed = true);

        _connInfo.OnCompleted();

        completed.Should().BeTrue();
        registrar.Invoking(r => r.ReportFailure(Pri)).Should().Throw<ObjectDisposedException>();
    }
}
