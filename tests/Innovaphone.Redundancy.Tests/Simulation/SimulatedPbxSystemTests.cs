using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Simulation;

public sealed class SimulatedPbxSystemTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 8, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Start);
    private readonly SimulatedPbxSystem _sim;
    private readonly SimulatedPbx _master;
    private readonly SimulatedPbx _slave1;
    private readonly SimulatedPbx _slave2;
    private readonly SimulatedPbx _standby;
    private readonly IPbxTransport _alice; // lives on slave2
    private readonly IPbxTransport _bob; // lives on the master

    public SimulatedPbxSystemTests()
    {
        _sim = new SimulatedPbxSystem(_time);
        _master = _sim.AddMaster("master.example.com");
        _slave1 = _sim.AddSlave("slave1.example.com", _master);
        _slave2 = _sim.AddSlave("slave2.example.com", _master);
        _standby = _sim.AddStandby("standby.example.com", standsInFor: _master);
        _sim.AddUser("alice", "secret", home: _slave2);
        _sim.AddUser("bob", "hunter2", home: _master);
        _alice = _sim.CreateTransport("alice", "secret");
        _bob = _sim.CreateTransport("bob", "hunter2");
    }

    public void Dispose()
    {
        RunSecrets.AddSecrets(_sim.IssuedSecrets);
        _sim.Dispose();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ConnectAsync_UsersOwnMaster_LogsInNotStandbyWithAlt()
    {
        var outcome = await _bob.ConnectAsync(Request(_master), Ct);

        var loggedIn = outcome.Should().BeOfType<LoggedIn>().Which;
        loggedIn.Info.Should().Be(new PbxLoginInfo(Standby: false, Alternative: _standby.Address, Master: null));
        loggedIn.Connection.Pbx.Should().Be(_master.Address);
        _sim.LiveConnectionCount.Should().Be(1);
    }

    [Fact]
    public async Task ConnectAsync_UsersOwnSlave_LogsInReportingMaster()
    {
        var outcome = await _alice.ConnectAsync(Request(_slave2), Ct);

        outcome.Should().BeOfType<LoggedIn>().Which.Info
            .Should().Be(new PbxLoginInfo(Standby: false, Alternative: null, Master: _master.Address));
    }

    [Fact]
    public async Task ConnectAsync_SlaveForUserElsewhere_RedirectsToMasterWithSameScheme()
    {
        var outcome = await _alice.ConnectAsync(Request(_slave1, PbxScheme.Ws), Ct);

        outcome.Should().Be(new Redirected(_master.Address, PbxScheme.Ws));
    }

    [Fact]
    public async Task ConnectAsync_MasterForUserOnSlave_RedirectsToUsersPbx()
    {
        var outcome = await _alice.ConnectAsync(Request(_master), Ct);

        outcome.Should().Be(new Redirected(_slave2.Address, PbxScheme.Wss));
    }

    [Fact]
    public async Task ConnectAsync_ExplicitStandbyPbx_RedirectsToThePbxItStandsInFor()
    {
        var outcome = await _bob.ConnectAsync(Request(_standby), Ct);

        outcome.Should().Be(new Redirected(_master.Address, PbxScheme.Wss));
    }

    [Fact]
    public async Task ConnectAsync_FollowingRedirectsFromOtherSlave_EndsOnUsersPbx()
    {
        var target = _slave1.Address;
        LoginOutcome outcome;
        while ((outcome = await _alice.ConnectAsync(new PbxLoginRequest(target, PbxScheme.Wss, 1), Ct)) is Redirected redirect)
        {
            target = redirect.Target;
        }

        outcome.Should().BeOfType<LoggedIn>().Which.Connection.Pbx.Should().Be(_slave2.Address);
        _sim.Attempts.Select(a => (a.Pbx, a.Outcome)).Should().Equal(
            (_slave1.Address, SimulatedAttemptOutcome.Redirected),
            (_master.Address, SimulatedAttemptOutcome.Redirected),
            (_slave2.Address, SimulatedAttemptOutcome.LoggedIn));
    }

    [Fact]
    public async Task ConnectAsync_MasterKilled_SlaveKeepsLoginAsStandby()
    {
        _sim.Kill(_master);

        var outcome = await _alice.ConnectAsync(Request(_slave1), Ct);

        outcome.Should().BeOfType<LoggedIn>().Which.Info
            .Should().Be(new PbxLoginInfo(Standby: true, Alternative: null, Master: _master.Address));
        _sim.Attempts[^1].Outcome.Should().Be(SimulatedAttemptOutcome.LoggedInStandby);
    }

    [Fact]
    public async Task ConnectAsync_RegistrationToUsersPbxPartitioned_MasterKeepsLoginAsStandby()
    {
        _sim.Partition(_master, _slave2);

        var outcome = await _alice.ConnectAsync(Request(_master), Ct);

        outcome.Should().BeOfType<LoggedIn>().Which.Info
            .Should().Be(new PbxLoginInfo(Standby: true, Alternative: _standby.Address, Master: null));
    }

    [Fact]
    public async Task ConnectAsync_SlaveSetAsAlternative_ReportedAsAlt()
    {
        _master.SetAlternative(_slave1);

        var outcome = await _bob.ConnectAsync(Request(_master), Ct);

        _master.Alternative.Should().BeSameAs(_slave1);
        outcome.Should().BeOfType<LoggedIn>().Which.Info.Alternative.Should().Be(_slave1.Address);
    }

    [Fact]
    public async Task ConnectAsync_KilledPbx_FailsUnreachableUntilRevived()
    {
        _sim.Kill(_master);

        var whileDead = await _bob.ConnectAsync(Request(_master), Ct);
        _sim.Revive(_master);
        var afterRevive = await _bob.ConnectAsync(Request(_master), Ct);

        whileDead.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.Unreachable);
        afterRevive.Should().BeOfType<LoggedIn>();
        _master.IsAlive.Should().BeTrue();
    }

    [Fact]
    public async Task ConnectAsync_ClientPartitionedFromPbx_FailsUnreachableUntilHealed()
    {
        _sim.PartitionClient(_slave2);

        var partitioned = await _alice.ConnectAsync(Request(_slave2), Ct);
        _sim.HealClient(_slave2);
        var healed = await _alice.ConnectAsync(Request(_slave2), Ct);

        partitioned.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.Unreachable);
        healed.Should().BeOfType<LoggedIn>();
    }

    [Fact]
    public async Task ConnectAsync_UnknownAddressOrModule_FailsUnreachable()
    {
        var unknownHost = await _alice.ConnectAsync(new PbxLoginRequest(new PbxAddress("nowhere.example.com"), PbxScheme.Wss, 1), Ct);
        var unknownModule = await _alice.ConnectAsync(new PbxLoginRequest(new PbxAddress("slave2.example.com", "PBX1"), PbxScheme.Wss, 2), Ct);

        unknownHost.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.Unreachable);
        unknownModule.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.Unreachable);
        _sim.Attempts.Should().OnlyContain(a => a.Outcome == SimulatedAttemptOutcome.Unreachable);
    }

    [Fact]
    public async Task ConnectAsync_HangingPbx_CompletesOnlyWhenCancelled()
    {
        _sim.SetHanging(_master, true);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var pending = _bob.ConnectAsync(Request(_master), cts.Token).AsTask();
        _time.Advance(TimeSpan.FromHours(1));
        var completedBeforeCancel = pending.IsCompleted;
        await cts.CancelAsync();

        completedBeforeCancel.Should().BeFalse();
        await pending.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
        _sim.Attempts.Select(a => a.Outcome).Should().Equal(SimulatedAttemptOutcome.Abandoned);
    }

    [Fact]
    public async Task ConnectAsync_HangingPbxKilled_FailsUnreachable()
    {
        _sim.SetHanging(_master, true);

        var pending = _bob.ConnectAsync(Request(_master), Ct).AsTask();
        _sim.Kill(_master);

        (await pending).Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.Unreachable);
    }

    [Fact]
    public async Task ConnectAsync_LoginDelay_AnswersAfterDelayOnTheFakeClock()
    {
        _sim.SetLoginDelay(_slave2, TimeSpan.FromSeconds(2));

        var pending = _alice.ConnectAsync(Request(_slave2), Ct).AsTask();
        _time.Advance(TimeSpan.FromMilliseconds(1999));
        var completedEarly = pending.IsCompleted;
        _time.Advance(TimeSpan.FromMilliseconds(1));

        completedEarly.Should().BeFalse();
        (await pending).Should().BeOfType<LoggedIn>();
        _sim.Attempts.Should().ContainSingle().Which.Time.Should().Be(Start.AddSeconds(2));
    }

    [Fact]
    public async Task ConnectAsync_PbxKilledDuringLoginDelay_FailsUnreachable()
    {
        _sim.SetLoginDelay(_slave2, TimeSpan.FromSeconds(2));

        var pending = _alice.ConnectAsync(Request(_slave2), Ct).AsTask();
        _sim.Kill(_slave2);

        (await pending).Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.Unreachable);
        _sim.LiveConnectionCount.Should().Be(0);
    }

    [Fact]
    public async Task ConnectAsync_WrongPassword_RejectedWithLoginFailed()
    {
        var outcome = await _sim.CreateTransport("alice", "wrong").ConnectAsync(Request(_slave2), Ct);

        outcome.Should().BeOfType<Rejected>().Which.Code.Should().Be(SimulatedPbxSystem.LoginFailedError);
        _sim.Attempts.Should().ContainSingle().Which.Outcome.Should().Be(SimulatedAttemptOutcome.Rejected);
    }

    [Fact]
    public async Task ConnectAsync_UnknownUser_RejectedWithLoginFailed()
    {
        var outcome = await _sim.CreateTransport("mallory", "secret").ConnectAsync(Request(_master), Ct);

        outcome.Should().BeOfType<Rejected>().Which.Code.Should().Be(SimulatedPbxSystem.LoginFailedError);
    }

    [Fact]
    public async Task Kill_PbxWithLiveConnection_EndsItClosed()
    {
        var connection = await LogIn(_bob, _master);

        _sim.Kill(_master);

        (await LossOf(connection)).Should().Be(new ConnectionLoss(ConnectionLossKind.Closed, "PBX killed"));
        _sim.LiveConnectionCount.Should().Be(0);
    }

    [Fact]
    public async Task PartitionClient_PbxWithLiveConnection_EndsItClosed()
    {
        var connection = await LogIn(_alice, _slave2);

        _sim.PartitionClient(_slave2);

        (await LossOf(connection)).Kind.Should().Be(ConnectionLossKind.Closed);
    }

    [Fact]
    public async Task Partition_BetweenPbxes_KeepsLiveConnections()
    {
        var connection = await LogIn(_alice, _slave2);

        _sim.Partition(_master, _slave2);

        connection.Lost.IsCompleted.Should().BeFalse();
    }

    [Fact]
    public async Task Revive_RedirectTargetOfStandbyLogin_SendsStandbyBack()
    {
        _sim.Kill(_master);
        var connection = await LogIn(_alice, _slave1);

        _sim.Revive(_master);

        (await LossOf(connection)).Kind.Should().Be(ConnectionLossKind.StandbyBack);
        _sim.LiveConnectionCount.Should().Be(0);
    }

    [Fact]
    public async Task Heal_RegistrationOfStandbyLogin_SendsStandbyBack()
    {
        _sim.Partition(_master, _slave2);
        var connection = await LogIn(_alice, _master);

        _sim.Heal(_master, _slave2);

        (await LossOf(connection)).Kind.Should().Be(ConnectionLossKind.StandbyBack);
    }

    [Fact]
    public async Task Heal_UnrelatedPbxes_KeepsStandbyLogin()
    {
        _sim.Kill(_master);
        var connection = await LogIn(_alice, _slave1);

        _sim.Partition(_slave1, _slave2);
        _sim.Heal(_slave1, _slave2);
        _sim.Revive(_standby);

        connection.Lost.IsCompleted.Should().BeFalse();
    }

    [Fact]
    public async Task Logout_UserWithLiveConnections_EndsThemLoggedOutAndInvalidatesSession()
    {
        var sessionOnly = _sim.CreateSessionTransport("alice");
        var bySession = await LogIn(sessionOnly, _slave2);
        var byPassword = await LogIn(_alice, _slave2);
        var bobs = await LogIn(_bob, _master);

        _sim.Logout("alice");
        var again = await sessionOnly.ConnectAsync(Request(_slave2), Ct);

        (await LossOf(bySession)).Kind.Should().Be(ConnectionLossKind.LoggedOut);
        (await LossOf(byPassword)).Kind.Should().Be(ConnectionLossKind.LoggedOut);
        bobs.Lost.IsCompleted.Should().BeFalse();
        again.Should().BeOfType<Rejected>().Which.Code.Should().Be(SimulatedPbxSystem.SessionExpiredError);
    }

    [Fact]
    public async Task ExpireSessions_TransportKnowsPassword_FallsBackToUserLogin()
    {
        await (await LogIn(_alice, _slave2)).DisposeAsync();
        _sim.ExpireSessions("alice");
        _sim.ClearAttempts();

        var outcome = await _alice.ConnectAsync(Request(_slave2), Ct);

        outcome.Should().BeOfType<LoggedIn>();
        _sim.Attempts.Select(a => a.Outcome).Should().Equal(SimulatedAttemptOutcome.SessionExpired, SimulatedAttemptOutcome.LoggedIn);
    }

    [Fact]
    public async Task ExpireSessions_SessionOnlyTransport_RejectedWithSessionExpired()
    {
        var transport = _sim.CreateSessionTransport("alice");
        var live = await LogIn(transport, _slave2);

        _sim.ExpireSessions("alice");
        var outcome = await transport.ConnectAsync(Request(_slave2), Ct);

        outcome.Should().BeOfType<Rejected>().Which.Code.Should().Be(SimulatedPbxSystem.SessionExpiredError);
        live.Lost.IsCompleted.Should().BeFalse("expiry ends no live connection");
    }

    [Fact]
    public async Task ConnectAsync_SessionTransportRedirected_LogsInWithSessionAtTarget()
    {
        var transport = _sim.CreateSessionTransport("alice");

        var first = await transport.ConnectAsync(Request(_master), Ct);
        var second = await transport.ConnectAsync(new PbxLoginRequest(((Redirected)first).Target, PbxScheme.Wss, 2), Ct);

        first.Should().Be(new Redirected(_slave2.Address, PbxScheme.Wss));
        second.Should().BeOfType<LoggedIn>();
        _sim.Attempts.Should().OnlyContain(a => a.User == "alice");
    }

    [Fact]
    public async Task DisposeAsync_Connection_EndsClosedByClientIdempotently()
    {
        var connection = await LogIn(_alice, _slave2);

        await connection.DisposeAsync();
        await connection.DisposeAsync();
        _sim.Kill(_slave2);

        (await LossOf(connection)).Kind.Should().Be(ConnectionLossKind.ClosedByClient);
        _sim.LiveConnectionCount.Should().Be(0);
    }

    [Fact]
    public async Task DisposeAsync_ConnectionAlreadyLost_KeepsOriginalLoss()
    {
        var connection = await LogIn(_bob, _master);
        _sim.Kill(_master);

        await connection.DisposeAsync();

        (await LossOf(connection)).Kind.Should().Be(ConnectionLossKind.Closed);
    }

    [Fact]
    public async Task Attempts_AfterLogins_RecordTimeUserPbxAndOutcome()
    {
        _time.Advance(TimeSpan.FromMinutes(5));

        await _alice.ConnectAsync(Request(_master), Ct);

        _sim.Attempts.Should().Equal(
            new SimulatedLoginAttempt(Start.AddMinutes(5), _master.Address, "alice", SimulatedAttemptOutcome.Redirected));
    }

    [Fact]
    public async Task Dispose_System_EndsLiveConnectionsAndRefusesLogins()
    {
        var connection = await LogIn(_alice, _slave2);

        _sim.Dispose();
        _sim.Dispose();
        var after = await _alice.ConnectAsync(Request(_slave2), Ct);

        (await LossOf(connection)).Kind.Should().Be(ConnectionLossKind.Closed);
        after.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.Unreachable);
        _sim.LiveConnectionCount.Should().Be(0);
    }

    [Fact]
    public async Task Kill_ManyConcurrentLogins_LeavesNoLiveConnection()
    {
        var logins = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
            await _alice.ConnectAsync(new PbxLoginRequest(_slave2.Address, PbxScheme.Wss, i), Ct), Ct)));
        var lost = logins.Select(o => ((LoggedIn)o).Connection.Lost).ToArray();

        _sim.Kill(_slave2);

        lost.Should().OnlyContain(t => t.IsCompletedSuccessfully && t.Result.Kind == ConnectionLossKind.Closed);
        _sim.LiveConnectionCount.Should().Be(0);
    }

    [Fact]
    public void AddMaster_HostWithPortAndModule_AddressCarriesBoth()
    {
        var pbx = _sim.AddMaster("127.0.0.2:8443", "PBX1");

        pbx.Address.ToString().Should().Be("127.0.0.2:8443/PBX1");
        pbx.Address.Port.Should().Be(8443);
    }

    [Fact]
    public void AddMaster_ExistingAddress_Throws()
    {
        var act = () => _sim.AddMaster("MASTER.example.com");

        act.Should().Throw<ArgumentException>().WithMessage("*exists already*");
    }

    [Fact]
    public void AddSlave_MasterFromOtherSystem_Throws()
    {
        using var other = new SimulatedPbxSystem(_time);
        var foreignMaster = other.AddMaster("master.example.com");

        var act = () => _sim.AddSlave("slave3.example.com", foreignMaster);

        act.Should().Throw<ArgumentException>().WithMessage("*another simulated PBX system*");
    }

    private static PbxLoginRequest Request(SimulatedPbx pbx, PbxScheme scheme = PbxScheme.Wss) => new(pbx.Address, scheme, 1);

    private static async Task<IPbxConnection> LogIn(IPbxTransport transport, SimulatedPbx pbx) =>
        (await transport.ConnectAsync(Request(pbx), Ct)).Should().BeOfType<LoggedIn>().Which.Connection;

    /// <summary>The loss of a connection that must have ended already (the simulator ends it synchronously).</summary>
    private static async Task<ConnectionLoss> LossOf(IPbxConnection connection)
    {
        connection.Lost.IsCompleted.Should().BeTrue();
        return await connection.Lost;
    }
}
