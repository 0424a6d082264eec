using System.Text.Json;
using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Scenarios;

/// <summary>
/// Rules R1–R12 through the manager and the simulated PBX system, in virtual time. Topologies:
/// single PBX with explicit standby; master + 2 slaves with the user on slave 2; a slave whose master stands by;
/// master failure with a slave as standby; both PBXes down for a long time.
/// </summary>
public sealed class RuleScenarioTests : IAsyncLifetime
{
    private readonly ScenarioHarness _h = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _h.DisposeAsync();

    // master + slave1 + slave2, user on slave2, client configured at the master.
    private (SimulatedPbx Master, SimulatedPbx Slave1, SimulatedPbx Slave2) MasterTwoSlaves()
    {
        var master = _h.Sim.AddMaster("master.example.com");
        var slave1 = _h.Sim.AddSlave("slave1.example.com", master);
        var slave2 = _h.Sim.AddSlave("slave2.example.com", master);
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, slave2);
        return (master, slave1, slave2);
    }

    // A single PBX with an explicit standby PBX; the user lives on the single PBX.
    private (SimulatedPbx Pbx, SimulatedPbx Standby) SingleWithStandby()
    {
        var pbx = _h.Sim.AddMaster("pbx.example.com");
        var standby = _h.Sim.AddStandby("standby.example.com", pbx);
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, pbx);
        return (pbx, standby);
    }

    [Fact]
    public async Task R1_Primary_NeverChanges_ThroughRedirectFailoverAndStandby()
    {
        var (master, _, slave2) = MasterTwoSlaves();
        await _h.StartAsync(master);
        await _h.WaitUpAsync(slave2);
        var determined = await _h.Store.LoadAsync($"{master.Address}|{ScenarioHarness.User}", TestContext.Current.CancellationToken);
        _h.Sim.Kill(slave2);
        await _h.WaitUpAsync(master, standby: true);
        _h.Sim.Kill(master);
        await _h.WaitForStateAsync(RedundancyState.Failover);
        var attemptsBefore = _h.AttemptedPbxes().Count;
        await _h.SkipBackoffAsync();
        await _h.WaitUntilAsync(() => _h.AttemptedPbxes().Count > attemptsBefore, "the next round's first attempt");

        // What the machine decides, not what connInfo copies from the options: the record it determined after the
        // redirect keeps the configured PBX as primary, although the user lives on slave2 (which became the secondary),
        // and the round after two losses starts at that primary again.
        determined.Should().NotBeNull();
        determined!.Primary.Should().Be(master.Address);
        determined.Secondary.Should().Be(slave2.Address);
        _h.AttemptedPbxes()[attemptsBefore].Should().Be(master.Address);
        _h.ConnInfos.Should().NotBeEmpty().And.OnlyContain(c => c.Pri == master.Address);
    }

    [Fact]
    public async Task R2_Start_ConnectsToThePrimaryFirst()
    {
        var (pbx, _) = SingleWithStandby();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);

        _h.AttemptedPbxes().Should().Equal(pbx.Address);
    }

    [Fact]
    public async Task R2_FailedFirstConnect_IsRetriedUntilThePrimaryAnswers()
    {
        var (pbx, _) = SingleWithStandby();
        _h.Sim.Kill(pbx);
        await _h.StartAsync(pbx);
        await _h.SkipBackoffAsync();
        await _h.SkipBackoffAsync();
        await _h.WaitForFailoversAsync(3);
        _h.Sim.Revive(pbx);
        await _h.SkipBackoffAsync();

        await _h.WaitUpAsync(pbx);
        _h.AttemptedPbxes().Should().HaveCountGreaterThanOrEqualTo(4).And.OnlyContain(a => a == pbx.Address);
    }

    [Fact]
    public async Task R3_MasterRedirectsToTheUsersSlave_ConnectedThere()
    {
        var (master, _, slave2) = MasterTwoSlaves();
        await _h.StartAsync(master);

        var info = await _h.WaitUpAsync(slave2);

        info.Should().Be(new ConnInfo(true, false, slave2.Address, master.Address, slave2.Address, null));
        _h.AttemptedPbxes().Should().Equal(master.Address, slave2.Address);
        _h.Changes.Select(c => c.Current).Should().Equal(RedundancyState.Connecting, RedundancyState.Redirected, RedundancyState.Connected);
    }

    [Fact]
    public async Task R3_ClientAtOtherSlave_FollowsTwoRedirects()
    {
        var (master, slave1, slave2) = MasterTwoSlaves();
        await _h.StartAsync(slave1);

        var info = await _h.WaitUpAsync(slave2);

        _h.AttemptedPbxes().Should().Equal(slave1.Address, master.Address, slave2.Address);
        info.Pri.Should().Be(slave1.Address);
        info.Sec.Should().Be(slave2.Address);
    }

    [Fact]
    public async Task R3_HopLimit_RefusesTheRedirectAsAFailedAttempt()
    {
        var (master, slave1, _) = MasterTwoSlaves();
        await _h.StartAsync(slave1, o => o with { MaxRedirectHops = 1 });

        await _h.WaitForStateAsync(RedundancyState.Failover);

        _h.AttemptedPbxes().Should().Equal(slave1.Address, master.Address);
        _h.LogEventIds().Should().Contain(Log.RedirectRefusedId);
    }

    [Fact]
    public async Task R4_SinglePbxDown_ExplicitStandbyKeepsTheClientAsStandby()
    {
        var (pbx, standby) = SingleWithStandby();
        await _h.StartAsync(pbx);
        var before = await _h.WaitUpAsync(pbx);
        before.Sec.Should().Be(standby.Address, "R5: the explicit standby is the secondary");

        _h.Sim.Kill(pbx);
        var info = await _h.WaitUpAsync(standby, standby: true);

        info.Should().Be(new ConnInfo(true, true, standby.Address, pbx.Address, standby.Address, null));
        _h.Manager.State.Should().Be(RedundancyState.Standby);
        _h.Manager.Connection.Should().NotBeNull();
        _h.LogEventIds().Should().Contain(Log.StandbyLoginId);
    }

    [Fact]
    public async Task R5_SlaveWhoseMasterStandsBy_SecondaryIsTheMaster_AndStandbyLoginKeepsIt()
    {
        var master = _h.Sim.AddMaster("master.example.com");
        var slave = _h.Sim.AddSlave("slave.example.com", master);
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, slave);
        await _h.StartAsync(slave);
        var info = await _h.WaitUpAsync(slave);
        info.Sec.Should().Be(master.Address);

        _h.Sim.Kill(slave);
        var standby = await _h.WaitUpAsync(master, standby: true);

        standby.Pri.Should().Be(slave.Address);
        standby.Sec.Should().Be(master.Address);
        _h.AttemptedPbxes().Should().Equal(slave.Address, slave.Address, master.Address);
    }

    [Fact]
    public async Task R5_SentHomeByTheStandby_TheStandbyStaysTheSecondary_AndServesWhenThePbxFailsNext()
    {
        var (pbx, standby) = SingleWithStandby();
        await _h.StartAsync(pbx);
        (await _h.WaitUpAsync(pbx)).Sec.Should().Be(standby.Address);

        // The client loses its path to its PBX for a moment: the PBX is unreachable, the standby (slow to answer) is tried,
        // and when it answers the path is back, so it sends the user home. Seen at 10,000 clients, where the standby raced
        // beside a starved PBX: the redirect to the primary used to leave no secondary, and the next failure only ever
        // retried the primary.
        _h.Sim.SetLoginDelay(standby, TimeSpan.FromSeconds(1));
        _h.Sim.PartitionClient(pbx);
        await _h.WaitUntilAsync(() => _h.Logs.Any(l => l.Id.Id == Log.AttemptStartedId && l.Message.Contains(standby.Address.Host, StringComparison.Ordinal)), "the standby tried");
        _h.Sim.HealClient(pbx);

        // The standby's answer waits on the simulator's clock, whose timer the simulator sets up in its own time: the clock
        // moves in steps until the redirect has brought the client home.
        await _h.AdvanceUntilAsync(() => _h.Manager.ConnInfo is { Up: true } c && c.Cur == pbx.Address && _h.ConnInfos.Count(i => i.Up) == 2, TimeSpan.FromMilliseconds(250), 20, "home again, through the standby's redirect");
        _h.Manager.ConnInfo.Sec.Should().Be(standby.Address, "R5: the primary's explicit standby, not nothing");
        _h.Sim.Attempts.Select(a => a.Outcome).Should().Contain(SimulatedAttemptOutcome.Redirected);

        _h.Sim.SetLoginDelay(standby, TimeSpan.Zero);
        _h.Sim.Kill(pbx);
        await _h.WaitUpAsync(standby, standby: true);
    }

    [Fact]
    public async Task R5_Determination_IsPersistedAndUsedAfterRestart()
    {
        var (master, _, slave2) = MasterTwoSlaves();
        await _h.StartAsync(master);
        await _h.WaitUpAsync(slave2);
        await _h.WaitUntilAsync(() => StoredSecondary() == slave2.Address, "the record stored");
        await _h.Manager.DisposeAsync();

        // A restart while the master is down: the stored secondary is known at once and tried next.
        _h.Sim.Kill(master);
        _h.Sim.ClearAttempts();
        _h.Create(master);
        _h.Manager.ConnInfo.Sec.Should().BeNull("nothing is loaded before start");
        await _h.Manager.StartAsync(TestContext.Current.CancellationToken);

        await _h.WaitUpAsync(slave2);
        _h.AttemptedPbxes().Should().Equal(master.Address, slave2.Address);
        _h.Manager.ConnInfo.Sec.Should().Be(slave2.Address);

        PbxAddress? StoredSecondary() =>
            _h.Store.LoadAsync($"{master.Address}|{ScenarioHarness.User}", CancellationToken.None).AsTask().Result?.Secondary;
    }

    [Fact]
    public async Task R5_RestartWhilePrimarySlaveIsDown_DirectLoginAtUsersSlave_SecondaryIsTheMaster_ThenTheMasterStandsBy()
    {
        // Configured at slave S1, user on slave S2: the first run is redirected S1 -> M -> S2, so sec = S2.
        var (master, slave1, slave2) = MasterTwoSlaves();
        await _h.StartAsync(slave1);
        var first = await _h.WaitUpAsync(slave2);
        first.Sec.Should().Be(slave2.Address, "R5: redirected, the PBX we ended on");
        await _h.WaitUntilAsync(() => StoredRecord(slave1)?.Secondary == slave2.Address, "the first record stored");
        await _h.Manager.DisposeAsync();

        // A restart while S1 is down reaches S2 directly from the stored secondary: not redirected, so S2's master.
        _h.Sim.Kill(slave1);
        _h.Sim.ClearAttempts();
        _h.Create(slave1);
        await _h.Manager.StartAsync(TestContext.Current.CancellationToken);
        var direct = await _h.WaitUpAsync(slave2);
        direct.Should().Be(new ConnInfo(true, false, slave2.Address, slave1.Address, master.Address, null));
        await _h.WaitUntilAsync(() => StoredRecord(slave1)?.Secondary == master.Address, "the new secondary stored");

        // Primary and the user's PBX both down: the master serves as standby instead of S1, S2 alternating forever.
        _h.Sim.Kill(slave2);
        var standby = await _h.WaitUpAsync(master, standby: true);

        standby.Should().Be(new ConnInfo(true, true, master.Address, slave1.Address, master.Address, null));
        _h.AttemptedPbxes().Should().Equal(slave1.Address, slave2.Address, slave2.Address, slave1.Address, master.Address);
    }

    [Fact]
    public async Task R5_RestartWhilePrimaryMasterIsDown_DirectLoginAtUsersSlave_SecondaryStaysThatSlave()
    {
        // Configured at master M, user on slave S1 (named slave2 here): the slave's master is the primary itself,
        // which cannot be the secondary, so the PBX we ended on stays the secondary.
        var (master, _, slave2) = MasterTwoSlaves();
        await _h.StartAsync(master);
        await _h.WaitUpAsync(slave2);
        await _h.WaitUntilAsync(() => StoredRecord(master)?.Secondary == slave2.Address, "the first record stored");
        await _h.Manager.DisposeAsync();

        _h.Sim.Kill(master);
        _h.Sim.ClearAttempts();
        _h.Create(master);
        await _h.Manager.StartAsync(TestContext.Current.CancellationToken);
        var direct = await _h.WaitUpAsync(slave2);

        direct.Should().Be(new ConnInfo(true, false, slave2.Address, master.Address, slave2.Address, null));
        _h.AttemptedPbxes().Should().Equal(master.Address, slave2.Address);
    }

    private RedundancyRecord? StoredRecord(SimulatedPbx primary) =>
        _h.Store.LoadAsync($"{primary.Address}|{ScenarioHarness.User}", CancellationToken.None).AsTask().Result;

    [Fact]
    public async Task R6_BothDownForALongTime_AlternatesWithCappedBackoff_ThenRecovers()
    {
        var (pbx, standby) = SingleWithStandby();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        _h.Sim.Kill(standby); // first, so that the reconnect after the loss finds both down
        _h.Sim.Kill(pbx);

        var waits = new List<TimeSpan>();
        for (var round = 0; round < 10; round++)
        {
            waits.Add(await _h.SkipBackoffAsync());
        }

        await _h.WaitForFailoversAsync(11);
        _h.Sim.Revive(pbx);
        _h.Sim.Revive(standby);
        await _h.SkipBackoffAsync();
        await _h.WaitUpAsync(pbx);

        waits.Take(5).Should().Equal(new[] { 1, 2, 4, 8, 16 }.Select(s => TimeSpan.FromSeconds(s)));
        waits.Skip(5).Should().OnlyContain(w => w == TimeSpan.FromSeconds(30), "the backoff is capped at BackoffMax");
        // After the loss: cur (= the primary, tried once), then the secondary; every later round the same pair.
        var tried = _h.AttemptedPbxes().Skip(1).ToList();
        tried.Chunk(2).Take(11).Should().HaveCount(11).And.OnlyContain(round => round.SequenceEqual(new[] { pbx.Address, standby.Address }));
    }

    [Fact]
    public async Task R6_Jitter_SpreadsTheBackoffWithinTheCap()
    {
        var (pbx, standby) = SingleWithStandby();
        _h.Sim.Kill(pbx);
        _h.Sim.Kill(standby);
        var values = new Queue<double>([0.1, 0.9, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4]);
        await _h.StartAsync(pbx, o => o with { BackoffJitter = true, Randomizer = () => values.Count > 0 ? values.Dequeue() : 0.5 });

        var waits = new List<TimeSpan>();
        for (var round = 0; round < 6; round++)
        {
            waits.Add(await _h.SkipBackoffAsync());
        }

        waits.Should().OnlyContain(w => w > TimeSpan.Zero && w <= TimeSpan.FromSeconds(30));
        waits.Distinct().Should().HaveCountGreaterThan(3, "jitter makes the waits differ from a plain doubling");
    }

    [Fact]
    public async Task R7_MasterFailureWithSlaveAsStandby_ReconnectsToCurrentFirstThenAlternates()
    {
        var master = _h.Sim.AddMaster("master.example.com");
        var slave = _h.Sim.AddSlave("slave.example.com", master);
        master.SetAlternative(slave);
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, master);
        await _h.StartAsync(master);
        (await _h.WaitUpAsync(master)).Sec.Should().Be(slave.Address);
        _h.Sim.ClearAttempts();

        _h.Sim.Kill(master);
        await _h.WaitUpAsync(slave, standby: true);

        // cur (= master = pri) first; then the alternation goes on with the secondary.
        _h.AttemptedPbxes().Should().Equal(master.Address, slave.Address);
        _h.LogEventIds().Should().Contain(Log.ConnectionLostId);
    }

    [Fact]
    public async Task R7_LossOnTheUsersSlave_TriesThatSlaveFirst_ThenThePrimary()
    {
        var (master, _, slave2) = MasterTwoSlaves();
        await _h.StartAsync(master);
        await _h.WaitUpAsync(slave2);
        _h.Sim.ClearAttempts();

        // The client loses slave2 (cur), tries it first, then the primary, which still reaches slave2 and so
        // redirects there in vain, then the secondary (slave2 again).
        _h.Sim.PartitionClient(slave2);
        await _h.WaitForStateAsync(RedundancyState.Failover);
        _h.AttemptedPbxes().Should().Equal(slave2.Address, master.Address, slave2.Address, slave2.Address);

        _h.Sim.HealClient(slave2);
        await _h.SkipBackoffAsync();
        await _h.WaitUpAsync(slave2);
    }

    [Fact]
    public async Task R7_FlappingPbx_UnstableConnectionsBackOffWithGrowingDelay_StableOnesReconnectAtOnce()
    {
        var (pbx, standby) = SingleWithStandby();
        _h.Sim.Kill(standby);
        await _h.StartAsync(pbx, o => o with { MinStableConnection = TimeSpan.FromSeconds(5) });
        await _h.WaitUpAsync(pbx);

        // Accepted, then dropped at once: the first early loss reconnects at once (it may be chance), every further one
        // in a row backs off, growing: no reconnect storm.
        _h.Sim.Kill(pbx);
        _h.Sim.Revive(pbx);
        await _h.WaitUntilAsync(() => _h.Changes.Count(c => c.Current == RedundancyState.Connected) == 2, "login 2, at once");
        _h.Changes.Should().NotContain(c => c.Current == RedundancyState.Failover, "the first early loss does not back off");

        var waits = new List<TimeSpan>();
        for (var i = 2; i <= 4; i++)
        {
            _h.Sim.Kill(pbx);
            _h.Sim.Revive(pbx);
            waits.Add(await _h.SkipBackoffAsync());
            await _h.WaitUntilAsync(() => _h.Changes.Count(c => c.Current == RedundancyState.Connected) == i + 1, $"login {i + 1}");
        }

        waits.Should().Equal(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4));
        _h.AttemptedPbxes().Should().OnlyContain(a => a == pbx.Address, "after each backoff the current PBX is tried first, and it answers");

        // Up for longer than MinStableConnection: the next loss reconnects at once, without a backoff. The PBX stays
        // down (a kill and revive would race the immediate reconnect), so the round goes on to the standby.
        _h.Sim.Revive(standby);
        _h.Time.Advance(TimeSpan.FromSeconds(6));
        var failovers = _h.Changes.Count(c => c.Current == RedundancyState.Failover);
        _h.Sim.Kill(pbx);
        await _h.WaitUpAsync(standby, standby: true);
        _h.Changes.Count(c => c.Current == RedundancyState.Failover).Should().Be(failovers, "a stable connection's loss does not back off");
    }

    [Fact]
    public async Task R7_PbxThatDropsEveryLogin_AttemptRateStaysBounded()
    {
        var (pbx, standby) = SingleWithStandby();
        _h.Sim.Kill(standby);
        await _h.StartAsync(pbx, o => o with { MinStableConnection = TimeSpan.FromSeconds(5), BackoffMax = TimeSpan.FromSeconds(30) });
        await _h.WaitUpAsync(pbx);
        var start = _h.Time.GetUtcNow();

        // 12 logins, each dropped at once: after the first immediate reconnect the backoff doubles to its cap.
        var waits = new List<TimeSpan>();
        for (var i = 1; i <= 12; i++)
        {
            _h.Sim.Kill(pbx);
            _h.Sim.Revive(pbx);
            if (i > 1)
            {
                waits.Add(await _h.SkipBackoffAsync());
            }

            await _h.WaitUntilAsync(() => _h.Changes.Count(c => c.Current == RedundancyState.Connected) == i + 1, $"login {i + 1}");
        }

        var elapsed = _h.Time.GetUtcNow() - start;
        waits.Should().BeInAscendingOrder().And.EndWith(TimeSpan.FromSeconds(30));
        var attempts = _h.Sim.Attempts.Count(a => a.Pbx == pbx.Address) - 1;
        attempts.Should().Be(12, "one attempt per dropped login: every reconnect logs in at once");
        (attempts / elapsed.TotalMinutes).Should().BeLessThan(6, "12 logins took over two minutes of backoff: bounded by about one per BackoffMax once grown");
    }

    [Fact]
    public async Task R8_StandbyBack_ReturnsToTheUsersPbxAtOnce()
    {
        var (pbx, standby) = SingleWithStandby();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        _h.Sim.Kill(pbx);
        await _h.WaitUpAsync(standby, standby: true);
        var failovers = _h.Changes.Count(c => c.Current == RedundancyState.Failover);

        _h.Sim.Revive(pbx);
        var info = await _h.WaitUpAsync(pbx);

        info.Should().Be(new ConnInfo(true, false, pbx.Address, pbx.Address, standby.Address, null));
        _h.Changes.Count(c => c.Current == RedundancyState.Failover).Should().Be(failovers, "no backoff: the reconnect is immediate");
        _h.LogEventIds().Should().Contain(Log.StandbyBackId);
    }

    [Fact]
    public async Task R9_WrongPassword_FaultsWithoutRetryStorm()
    {
        var (pbx, _) = SingleWithStandby();
        _h.Create(pbx, password: "wrong");
        await _h.Manager.StartAsync(TestContext.Current.CancellationToken);

        var change = await _h.WaitForStateAsync(RedundancyState.Faulted);
        _h.Time.Advance(TimeSpan.FromMinutes(10));

        change.Reason.Should().Contain("rejected");
        _h.Sim.Attempts.Should().ContainSingle().Which.Outcome.Should().Be(SimulatedAttemptOutcome.Rejected);
        _h.Manager.ConnInfo.Up.Should().BeFalse();
        _h.LogEventIds().Should().Contain(Log.LoginRejectedId);
    }

    [Fact]
    public async Task R9_SessionExpired_LogsInAgainWithTheUsersCredentials()
    {
        var (pbx, standby) = SingleWithStandby();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        _h.Sim.ExpireSessions(ScenarioHarness.User);
        _h.Sim.Kill(pbx);
        await _h.WaitUpAsync(standby, standby: true);

        _h.Sim.Attempts.Should().Contain(a => a.Outcome == SimulatedAttemptOutcome.SessionExpired);
        _h.Manager.State.Should().Be(RedundancyState.Standby);
    }

    [Fact]
    public async Task R9_LogoutResult_FaultsAndDoesNotReconnect()
    {
        var (pbx, _) = SingleWithStandby();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        _h.Sim.ClearAttempts();

        _h.Sim.Logout(ScenarioHarness.User);
        await _h.WaitForStateAsync(RedundancyState.Faulted);
        _h.Time.Advance(TimeSpan.FromMinutes(5));

        _h.Sim.Attempts.Should().BeEmpty();
        _h.LogEventIds().Should().Contain(Log.LoggedOutId);
    }

    [Fact]
    public async Task R10_ConnInfo_IsPublishedOnEveryChange_NeverTwiceTheSame_AndReplayedToNewSubscribers()
    {
        var (pbx, standby) = SingleWithStandby();
        await _h.StartAsync(pbx, o => o with { Phys = "berlin" });
        await _h.WaitUpAsync(pbx);
        _h.Sim.Kill(pbx);
        await _h.WaitUpAsync(standby, standby: true);

        var infos = _h.ConnInfos;
        infos.Zip(infos.Skip(1)).Should().OnlyContain(pair => pair.First != pair.Second);
        infos.Should().OnlyContain(i => i.Phys == "berlin" && i.Pri == pbx.Address);

        ConnInfo? replayed = null;
        using (_h.Manager.ConnInfoChanges.Subscribe(i => replayed = i))
        {
            replayed.Should().Be(_h.Manager.ConnInfo);
        }

        using var json = JsonDocument.Parse(_h.Manager.ConnInfo.ToJson());
        json.RootElement.EnumerateObject().Select(p => p.Name).Should().Equal("up", "standby", "cur", "pri", "sec", "phys");
        _h.Manager.ConnInfo.ToJson().Should().Be(
            """{"up":true,"standby":true,"cur":"standby.example.com/PBX0","pri":"pbx.example.com/PBX0","sec":"standby.example.com/PBX0","phys":"berlin"}""");
    }

    [Fact]
    public async Task R10_ThrowingSubscriber_DoesNotBreakTheManager()
    {
        var (master, _, slave2) = MasterTwoSlaves();
        _h.Create(master);
        using var bad = _h.Manager.ConnInfoChanges.Subscribe(_ => throw new InvalidOperationException("subscriber bug"));
        using var badStates = _h.Manager.StateChanges.Subscribe(_ => throw new InvalidOperationException("subscriber bug"));
        await _h.Manager.StartAsync(TestContext.Current.CancellationToken);

        await _h.WaitUpAsync(slave2);
        _h.LogEventIds().Should().Contain(Log.SubscriberFailedId);
    }

    [Fact]
    public async Task R11_Stop_ClosesEverything_AndNoTimerFiresAfterwards()
    {
        var (pbx, standby) = SingleWithStandby();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        _h.Sim.LiveConnectionCount.Should().Be(1);

        await _h.Manager.StopAsync(TestContext.Current.CancellationToken);

        _h.Manager.State.Should().Be(RedundancyState.Stopped);
        _h.Manager.ConnInfo.Up.Should().BeFalse();
        _h.Manager.Connection.Should().BeNull();
        _h.Sim.LiveConnectionCount.Should().Be(0);
        var attempts = _h.Sim.Attempts.Count;
        _h.Time.Advance(TimeSpan.FromHours(1));
        _h.Sim.Attempts.Should().HaveCount(attempts);
        _ = standby;
    }

    [Fact]
    public async Task R11_DisposeDuringBackoff_CancelsTheTimer_AndCompletesTheObservables()
    {
        var (pbx, standby) = SingleWithStandby();
        _h.Sim.Kill(pbx);
        _h.Sim.Kill(standby);
        await _h.StartAsync(pbx);
        await _h.WaitForStateAsync(RedundancyState.Failover);
        var attempts = _h.Sim.Attempts.Count;

        await _h.Manager.DisposeAsync();
        _h.Time.Advance(TimeSpan.FromHours(1));

        await _h.WaitCompletedAsync();
        _h.Sim.Attempts.Should().HaveCount(attempts);
        _h.Changes.Last().Current.Should().Be(RedundancyState.Stopped);
        var start = () => _h.Manager.StartAsync();
        await start.Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public async Task R11_DisposeDuringAHangingAttempt_CancelsIt()
    {
        var (pbx, _) = SingleWithStandby();
        _h.Sim.SetHanging(pbx, true);
        await _h.StartAsync(pbx);
        await _h.WaitUntilAsync(() => _h.Sim.Attempts.Count > 0 || _h.LogEventIds().Contains(Log.AttemptStartedId), "the attempt to begin");

        await _h.Manager.DisposeAsync();

        await _h.WaitCompletedAsync();
        _h.Sim.LiveConnectionCount.Should().Be(0);
    }

    [Fact]
    public async Task R7_HangingPbx_IsRacedAfterTheStaggerDelay_AndCancelledWhenTheStandbyWins()
    {
        var (pbx, standby) = SingleWithStandby();
        await _h.Store.SaveAsync($"{pbx.Address}|{ScenarioHarness.User}", new RedundancyRecord(pbx.Address, standby.Address, pbx.Address), CancellationToken.None);
        _h.Sim.SetHanging(pbx, true);
        _h.Sim.Partition(pbx, standby);
        await _h.StartAsync(pbx);
        await _h.WaitForStateAsync(RedundancyState.Connecting);

        // The state change is published after the commands ran, so the stagger timer exists now.
        _h.Time.Advance(TimeSpan.FromMilliseconds(249));
        _h.Sim.Attempts.Should().NotContain(a => a.Pbx == standby.Address, "the secondary waits for the stagger delay");
        _h.Time.Advance(TimeSpan.FromMilliseconds(1));
        await _h.WaitUntilAsync(() => _h.Manager.ConnInfo.Up, "up on the standby");

        _h.Manager.ConnInfo.Should().Be(new ConnInfo(true, true, standby.Address, pbx.Address, standby.Address, null));
        _h.Logs.Should().Contain(l => l.Id.Id == Log.AttemptStaggeredId);
        _h.Logs.Should().NotContain(l => l.Id.Id == Log.AttemptFailedId, "the hanging attempt lost the race and was cancelled, not timed out");
        await _h.WaitUntilAsync(() => _h.Sim.Attempts.Any(a => a.Pbx == pbx.Address && a.Outcome == SimulatedAttemptOutcome.Abandoned), "the hanging attempt to be abandoned");
    }

    [Fact]
    public async Task R11_HangingPbx_WithoutStaggering_AttemptTimesOutAndTheRoundGoesOn()
    {
        var (pbx, standby) = SingleWithStandby();
        await _h.Store.SaveAsync($"{pbx.Address}|{ScenarioHarness.User}", new RedundancyRecord(pbx.Address, standby.Address, pbx.Address), CancellationToken.None);
        _h.Sim.SetHanging(pbx, true);
        _h.Sim.Partition(pbx, standby);
        await _h.StartAsync(pbx, o => o with { StaggerDelay = Timeout.InfiniteTimeSpan });

        await _h.AdvanceUntilAsync(() => _h.Manager.ConnInfo.Up, TimeSpan.FromSeconds(1), 20, "up on the standby");

        _h.Manager.ConnInfo.Should().Be(new ConnInfo(true, true, standby.Address, pbx.Address, standby.Address, null));
        _h.Logs.Should().Contain(l => l.Id.Id == Log.AttemptFailedId && l.Message.Contains("Timeout", StringComparison.Ordinal));
        _h.Sim.Attempts.Should().Contain(a => a.Pbx == pbx.Address && a.Outcome == SimulatedAttemptOutcome.Abandoned);
    }

    [Fact]
    public async Task R12_TheConnectionFlow_IsLoggedWithStableIds_AndNoSecrets()
    {
        var (master, _, slave2) = MasterTwoSlaves();
        await _h.StartAsync(master);
        await _h.WaitUpAsync(slave2);
        _h.Sim.Kill(slave2);
        await _h.WaitUpAsync(master, standby: true);
        _h.Sim.Kill(master);
        await _h.SkipBackoffAsync();

        _h.LogEventIds().Should().Contain(
        [
            Log.StartedId, Log.AttemptStartedId, Log.RedirectFollowedId, Log.LoggedInId, Log.DeterminedId,
            Log.ConnectionLostId, Log.StandbyLoginId, Log.RoundFailedId, Log.BackoffScheduledId, Log.StateChangedId,
        ]);
        _h.ShouldNotHaveLoggedSecrets();
    }

    [Fact]
    public async Task StateChanges_NeverRepeatAState_AndChainPreviousToCurrent()
    {
        var (master, _, slave2) = MasterTwoSlaves();
        await _h.StartAsync(master);
        await _h.WaitUpAsync(slave2);
        _h.Sim.Kill(slave2);
        await _h.WaitUpAsync(master, standby: true);
        _h.Sim.Kill(master);
        await _h.SkipBackoffAsync();
        await _h.WaitForFailoversAsync(2);
        _h.Sim.Revive(master);
        _h.Sim.Revive(slave2);
        await _h.SkipBackoffAsync();
        await _h.WaitUpAsync(slave2);

        var changes = _h.Changes;
        changes[0].Previous.Should().Be(RedundancyState.Idle);
        changes.Should().OnlyContain(c => c.Previous != c.Current);
        changes.Zip(changes.Skip(1)).Should().OnlyContain(p => p.First.Current == p.Second.Previous);
        changes.Where(c => c.Current == RedundancyState.Failover).Should().OnlyContain(c => c.NextAttemptAt > c.Timestamp);
        changes.Where(c => c.Current != RedundancyState.Failover).Should().OnlyContain(c => c.NextAttemptAt == null);
    }

    [Fact]
    public async Task LostConnection_IsReleased_AndConnectionPropertyFollows()
    {
        var (pbx, standby) = SingleWithStandby();
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        _h.Manager.Connection!.Pbx.Should().Be(pbx.Address);

        _h.Sim.Kill(pbx);
        await _h.WaitUpAsync(standby, standby: true);

        _h.Manager.Connection!.Pbx.Should().Be(standby.Address);
        _h.Sim.LiveConnectionCount.Should().Be(1);
    }

    [Fact]
    public async Task ConcurrentStartStopAndSubscribe_FromManyThreads_EndConsistent()
    {
        var (master, _, slave2) = MasterTwoSlaves();
        _h.Create(master);
        var manager = _h.Manager;
        var ct = TestContext.Current.CancellationToken;

        await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (i, token) =>
        {
            switch (i % 4)
            {
                case 0: await manager.StartAsync(token); break;
                case 1: await manager.StopAsync(token); break;
                case 2: using (manager.ConnInfoChanges.Subscribe(_ => { })) { } break;
                default: using (manager.StateChanges.Subscribe(_ => throw new InvalidOperationException("bad subscriber"))) { } break;
            }
        });
        await manager.StartAsync(ct);
        await _h.WaitUpAsync(slave2);
        await manager.DisposeAsync();

        await _h.WaitCompletedAsync();
        manager.State.Should().Be(RedundancyState.Stopped);
        _h.Sim.LiveConnectionCount.Should().Be(0);
    }

    [Fact]
    public async Task R11_TransportIgnoringCancellation_CannotWedgeStop()
    {
        var (pbx, _) = SingleWithStandby();
        var deaf = new DeafTransport();
        _h.Create(pbx);
        await using var manager = new RedundancyManager(new RedundancyOptions
        {
            Primary = pbx.Address,
            Transport = deaf,
            TimeProvider = _h.Time,
            LoggerFactory = _h.LoggerFactory,
            AttemptTimeout = TimeSpan.FromSeconds(5),
        });
        await manager.StartAsync(TestContext.Current.CancellationToken);
        await deaf.Called.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        var stop = manager.StopAsync(TestContext.Current.CancellationToken);
        await _h.AdvanceUntilAsync(() => stop.IsCompleted, TimeSpan.FromSeconds(1), 30, "stop to return");

        await stop;
        manager.State.Should().Be(RedundancyState.Stopped);
        _h.LogEventIds().Should().Contain(Log.BackgroundAbandonedId);
    }

    private sealed class DeafTransport : IPbxTransport
    {
        public TaskCompletionSource Called { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask<LoginOutcome> ConnectAsync(PbxLoginRequest request, CancellationToken cancellationToken)
        {
            Called.TrySetResult();
            return new ValueTask<LoginOutcome>(new TaskCompletionSource<LoginOutcome>().Task);
        }
    }

    [Fact]
    public async Task R11_ConnectionWhoseCloseThrows_DoesNotBreakStopOrDispose()
    {
        var (pbx, _) = SingleWithStandby();
        _h.Create(pbx);
        await using var manager = new RedundancyManager(new RedundancyOptions
        {
            Primary = pbx.Address,
            Transport = new ThrowingCloseTransport(),
            TimeProvider = _h.Time,
            LoggerFactory = _h.LoggerFactory,
        });
        await manager.StartAsync(TestContext.Current.CancellationToken);
        await _h.WaitUntilAsync(() => manager.ConnInfo.Up, "up");

        await manager.StopAsync(TestContext.Current.CancellationToken);

        manager.State.Should().Be(RedundancyState.Stopped);
        _h.LogEventIds().Should().Contain(Log.ProcessingFailedId);
    }

    private sealed class ThrowingCloseTransport : IPbxTransport
    {
        public ValueTask<LoginOutcome> ConnectAsync(PbxLoginRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult<LoginOutcome>(new LoggedIn(new ThrowingConnection(request.Pbx), new PbxLoginInfo(Standby: false)));

        private sealed class ThrowingConnection(PbxAddress pbx) : IPbxConnection
        {
            public PbxAddress Pbx { get; } = pbx;

            public Task<ConnectionLoss> Lost { get; } = new TaskCompletionSource<ConnectionLoss>().Task;

            public ValueTask DisposeAsync() => throw new InvalidOperationException("close failed");
        }
    }
}
