using FluentAssertions;
using Innovaphone.Redundancy.Persistence;
using Innovaphone.Redundancy.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Scenarios;

/// <summary>
/// R4 (standby inference when the PBXes send no <c>standby</c> flag, and how a wrong inference corrects itself) and R9
/// (rejections during failover), through the manager and the simulated PBX system in virtual time.
/// </summary>
public sealed class InferenceAndRejectionScenarioTests : IAsyncLifetime
{
    private readonly ScenarioHarness _h = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _h.DisposeAsync();

    // master + slave1 + slave2, user on slave2; the PBXes send no standby flag.
    private (SimulatedPbx Master, SimulatedPbx Slave1, SimulatedPbx Slave2) MasterTwoSlavesWithoutFlag()
    {
        _h.Sim.SendsStandbyFlag = false;
        var master = _h.Sim.AddMaster("master.example.com");
        var slave1 = _h.Sim.AddSlave("slave1.example.com", master);
        var slave2 = _h.Sim.AddSlave("slave2.example.com", master);
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, slave2);
        return (master, slave1, slave2);
    }

    // A single PBX with an explicit standby that does not know the user (yet): up on the PBX, which then fails.
    private async Task<SimulatedPbx> UsersPbxDownWithARejectingStandbyAsync()
    {
        var pbx = _h.Sim.AddMaster("pbx.example.com");
        var standby = _h.Sim.AddStandby("standby.example.com", pbx);
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, pbx);
        _h.Sim.SetRejectingLogins(standby, true);
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        _h.Sim.Kill(pbx);
        return pbx;
    }

    private RedundancyRecord? StoredRecord(SimulatedPbx primary) =>
        _h.Store.LoadAsync($"{primary.Address}|{ScenarioHarness.User}", CancellationToken.None).AsTask().Result;

    private async Task RestartAsync(SimulatedPbx primary)
    {
        await _h.Manager.DisposeAsync();
        _h.Sim.ClearAttempts();
        _h.Create(primary);
        await _h.Manager.StartAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task R4_NoFlag_RedirectEndingAtTheMasterThatKeepsTheUser_IsAStandbyLogin_ByTheHintsOfTheUsersPbx()
    {
        // Configured at S1, user on S2: S1 -> M -> S2, and S2 named its master M at that login.
        var (master, slave1, slave2) = MasterTwoSlavesWithoutFlag();
        await _h.StartAsync(slave1);
        await _h.WaitUpAsync(slave2);

        // S2 fails: S1 redirects to M, which cannot reach S2 and keeps the user. A redirect chain ends there, which
        // alone would read as a home login; S2's hints say M stands in for S2.
        _h.Sim.Kill(slave2);
        var standby = await _h.WaitUpAsync(master, standby: true);

        standby.Should().Be(new ConnInfo(true, true, master.Address, slave1.Address, slave2.Address, null), "a standby login changes neither pri nor sec (R5)");
        StoredRecord(slave1)!.Home.Should().Be(slave2.Address);

        // M's StandbyBack brings the user home.
        _h.Sim.Revive(slave2);
        (await _h.WaitUpAsync(slave2)).Standby.Should().BeFalse();
    }

    [Fact]
    public async Task R4_NoFlag_FirstRunWhileTheUsersPbxIsDown_TakenForHome_ThenItsStandbyBackTakesThatBack()
    {
        // Nothing is known yet and S2 is down: S1 -> M, where M keeps the user. No evidence says standby, so the
        // inference errs the way that corrects itself.
        var (master, slave1, slave2) = MasterTwoSlavesWithoutFlag();
        _h.Sim.Kill(slave2);
        await _h.StartAsync(slave1);
        var wrong = await _h.WaitUpAsync(master);
        wrong.Standby.Should().BeFalse("no flag, no hints, the end of a redirect chain: taken for the user's PBX");

        // M sends StandbyBack when S2 is back: only a standby does that, so M was not the user's PBX.
        _h.Sim.Revive(slave2);
        var home = await _h.WaitUpAsync(slave2);

        home.Should().Be(new ConnInfo(true, false, slave2.Address, slave1.Address, slave2.Address, null));
        _h.LogEventIds().Should().Contain(Log.StandbyCorrectedId);
        await _h.WaitUntilAsync(() => StoredRecord(slave1)?.Home == slave2.Address, "the user's PBX stored");
        StoredRecord(slave1).Should().Be(new RedundancyRecord(slave1.Address, slave2.Address, slave2.Address) { HomeMaster = master.Address });
    }

    [Fact]
    public async Task R4_NoFlag_UserMovedToAPbxReachedWithoutRedirect_IsAHomeLogin_AlsoAfterARestart()
    {
        // Configured at S1, user on S2 (hints: master M). The administrator moves the user to S1, the primary.
        var (master, slave1, slave2) = MasterTwoSlavesWithoutFlag();
        await _h.StartAsync(slave1);
        await _h.WaitUpAsync(slave2);
        await _h.WaitUntilAsync(() => StoredRecord(slave1)?.HomeMaster == master.Address, "S2's hints stored");
        _h.Sim.MoveUser(ScenarioHarness.User, slave1);

        // A restart logs in at S1 directly. S1 is neither S2's standby nor its master: the user's PBX now.
        await RestartAsync(slave1);
        var moved = await _h.WaitUpAsync(slave1);

        moved.Should().Be(new ConnInfo(true, false, slave1.Address, slave1.Address, master.Address, null), "R5: S1's master becomes the secondary");
        _h.AttemptedPbxes().Should().Equal(slave1.Address);
        await _h.WaitUntilAsync(() => StoredRecord(slave1)?.Home == slave1.Address, "the new user's PBX stored");
    }

    [Fact]
    public async Task R4_NoFlag_UserMovedWhileConnected_TheNextDirectLoginIsAHomeLogin()
    {
        var (master, slave1, slave2) = MasterTwoSlavesWithoutFlag();
        await _h.StartAsync(slave1);
        await _h.WaitUpAsync(slave2);

        // Moved to S1, then S2 goes away: the round reaches S1 directly (R7: S2 first, then the primary S1).
        _h.Sim.MoveUser(ScenarioHarness.User, slave1);
        _h.Sim.Kill(slave2);
        var moved = await _h.WaitUpAsync(slave1);

        moved.Standby.Should().BeFalse();
        moved.Sec.Should().Be(master.Address);
    }

    [Fact]
    public async Task R4_NoFlag_RestartWithThePrimaryDown_ThenTheUsersPbxFails_EndsAsStandbyOnTheMaster()
    {
        // The done-when case of "Concept fidelity", with no standby flag: the hints kept in the store decide.
        var (master, slave1, slave2) = MasterTwoSlavesWithoutFlag();
        await _h.StartAsync(slave1);
        await _h.WaitUpAsync(slave2);
        await _h.WaitUntilAsync(() => StoredRecord(slave1)?.HomeMaster == master.Address, "the first record stored");

        _h.Sim.Kill(slave1);
        await RestartAsync(slave1);
        (await _h.WaitUpAsync(slave2)).Sec.Should().Be(master.Address);
        _h.Sim.Kill(slave2);
        var standby = await _h.WaitUpAsync(master, standby: true);

        standby.Should().Be(new ConnInfo(true, true, master.Address, slave1.Address, master.Address, null));
    }

    [Fact]
    public async Task R9_RejectionByAStandby_EndsThatAttempt_AndTheUserIsServedWhenTheirPbxIsBack()
    {
        var pbx = await UsersPbxDownWithARejectingStandbyAsync();
        var failover = await _h.WaitForStateAsync(RedundancyState.Failover);
        _h.Sim.Revive(pbx);
        await _h.SkipBackoffAsync();
        await _h.WaitUpAsync(pbx);

        failover.Reason.Should().Contain("which is not the user's PBX");
        _h.Changes.Should().NotContain(c => c.Current == RedundancyState.Faulted);
        _h.LogEventIds().Should().Contain(Log.LoginRejectedElsewhereId).And.NotContain(Log.LoginRejectedId);
    }

    [Fact]
    public async Task R9_ThirdRejectionInARowByOtherPbxes_Faults_WithoutAStorm()
    {
        await UsersPbxDownWithARejectingStandbyAsync();
        await _h.SkipBackoffAsync();
        await _h.SkipBackoffAsync();
        var fault = await _h.WaitForStateAsync(RedundancyState.Faulted);
        _h.Time.Advance(TimeSpan.FromMinutes(10));

        fault.Reason.Should().Contain($"{Innovaphone.Redundancy.Core.RedundancyMachine.MaxRejectionsElsewhere} rejections in a row by PBXes other than the user's");
        _h.Sim.Attempts.Count(a => a.Outcome == SimulatedAttemptOutcome.Rejected).Should().Be(Innovaphone.Redundancy.Core.RedundancyMachine.MaxRejectionsElsewhere, "nothing is tried after the fault");
        _h.Changes.Count(c => c.Current == RedundancyState.Failover).Should().Be(Innovaphone.Redundancy.Core.RedundancyMachine.MaxRejectionsElsewhere - 1, "a backoff between rounds");
    }

    [Fact]
    public async Task R9_WrongPassword_WithTheUsersPbxKnown_FaultsInTheFirstRound()
    {
        // Configured at M, user on S2 (stored). M is not the user's PBX, so its rejection alone does not fault; the
        // secondary S2 is, and faults at once: no backoff, two rejected logins.
        var (master, _, slave2) = MasterTwoSlavesWithoutFlag();
        _h.Store = new InMemoryRedundancyStore();
        await _h.Store.SaveAsync($"{master.Address}|{ScenarioHarness.User}", new RedundancyRecord(master.Address, slave2.Address, slave2.Address), CancellationToken.None);
        _h.Create(master, password: "wrong");
        await _h.Manager.StartAsync(TestContext.Current.CancellationToken);

        var fault = await _h.WaitForStateAsync(RedundancyState.Faulted);

        fault.Reason.Should().StartWith($"login rejected by {slave2.Address}");
        _h.Sim.Attempts.Select(a => (a.Pbx, a.Outcome)).Should().Equal(
            (master.Address, SimulatedAttemptOutcome.Rejected), (slave2.Address, SimulatedAttemptOutcome.Rejected));
        _h.Changes.Should().NotContain(c => c.Current == RedundancyState.Failover);
    }

    [Fact]
    public async Task R9_RedirectTargetRejects_AfterTheRedirectProvedTheCredentials_IsRetried()
    {
        // First run, nothing known: M verifies the credentials (its Redirect carries a digest over the password) and
        // sends the user to S2, which rejects: not a verdict on the password, so the next round tries again.
        var (master, _, slave2) = MasterTwoSlavesWithoutFlag();
        _h.Sim.SetRejectingLogins(slave2, true);
        await _h.StartAsync(master);
        var failover = await _h.WaitForStateAsync(RedundancyState.Failover);

        _h.Sim.SetRejectingLogins(slave2, false);
        await _h.SkipBackoffAsync();
        await _h.WaitUpAsync(slave2);

        failover.Reason.Should().Contain($"login rejected by {slave2.Address}, which is not the user's PBX");
        _h.Changes.Should().NotContain(c => c.Current == RedundancyState.Faulted);
    }
}
