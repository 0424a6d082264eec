using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Simulation;

/// <summary>The simulator's login methods per PBX, its sign-in (OAuth2) transport and session expiry at one PBX.</summary>
public sealed class SimulatedSignInTests : IDisposable
{
    private readonly SimulatedPbxSystem _sim = new(new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero)));
    private readonly SimulatedPbx _master;
    private readonly SimulatedPbx _slave;
    private readonly SimulatedPbx _standby;
    private readonly List<PbxAddress> _signIns = [];

    public SimulatedSignInTests()
    {
        _master = _sim.AddMaster("master.example.com");
        _slave = _sim.AddSlave("slave.example.com", _master);
        _standby = _sim.AddStandby("standby.example.com", _master);
        _sim.AddUser("bob", "hunter2", home: _master);
        _sim.AddUser("alice", "unknown-to-anybody", home: _slave);
    }

    public void Dispose()
    {
        RunSecrets.AddSecrets(_sim.IssuedSecrets);
        _sim.Dispose();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SignInTransport_WithoutSession_AsksTheUserOnce_ThenLogsInWithTheSession()
    {
        _sim.SetLoginMethods(_master, SimulatedLoginMethods.SingleSignOnOnly);
        var transport = SignInTransport("bob");
        var progress = new List<PbxLoginProgress>();
        var request = new PbxLoginRequest(_master.Address, PbxScheme.Wss, 1) { Progress = new SyncProgress(progress) };

        var first = await transport.ConnectAsync(request, Ct);
        await first.Should().BeOfType<LoggedIn>().Which.Connection.DisposeAsync();
        var second = await transport.ConnectAsync(request, Ct);

        second.Should().BeOfType<LoggedIn>();
        _signIns.Should().Equal(_master.Address);
        progress.Should().Equal(PbxLoginProgress.AwaitingSignIn);
    }

    [Fact]
    public async Task SignInTransport_UserLivesElsewhere_RedirectHandsOverASession_NoSecondSignIn()
    {
        _sim.SetLoginMethods(_master, SimulatedLoginMethods.SingleSignOnOnly);
        _sim.SetLoginMethods(_slave, SimulatedLoginMethods.SingleSignOnOnly);
        var transport = SignInTransport("alice");

        (await transport.ConnectAsync(Request(_master), Ct)).Should().Be(new Redirected(_slave.Address, PbxScheme.Wss));
        (await transport.ConnectAsync(Request(_slave), Ct)).Should().BeOfType<LoggedIn>();

        _signIns.Should().Equal(_master.Address);
        _sim.Attempts.Select(a => a.Outcome).Should().Equal(SimulatedAttemptOutcome.Redirected, SimulatedAttemptOutcome.LoggedIn);
    }

    [Fact]
    public async Task SignInTransport_PbxWithoutOAuth2_IsRejectedWithoutAskingTheUser()
    {
        var outcome = await SignInTransport("bob").ConnectAsync(Request(_master), Ct);

        outcome.Should().BeOfType<Rejected>().Which.Code.Should().Be(SimulatedPbxSystem.LoginMethodDisabledError);
        _signIns.Should().BeEmpty();
        _sim.Attempts.Should().ContainSingle().Which.Outcome.Should().Be(SimulatedAttemptOutcome.Rejected);
    }

    [Fact]
    public async Task PasswordTransport_PbxWithoutUserDigest_IsRejectedWithError2_WhateverThePassword()
    {
        _sim.SetLoginMethods(_master, SimulatedLoginMethods.SingleSignOnOnly);

        var outcome = await _sim.CreateTransport("bob", "hunter2").ConnectAsync(Request(_master), Ct);

        outcome.Should().Be(new Rejected(SimulatedPbxSystem.LoginMethodDisabledError, "login failed: password logins are not enabled on this PBX"));
    }

    [Fact]
    public async Task ExpireSessionsAtOnePbx_FailsSessionLoginsThereOnly_AndTheNextSignInIsKnownEverywhere()
    {
        _sim.SetLoginMethods(_master, SimulatedLoginMethods.SingleSignOnOnly);
        _sim.SetLoginMethods(_standby, SimulatedLoginMethods.SingleSignOnOnly);
        var transport = SignInTransport("bob");
        await (await transport.ConnectAsync(Request(_master), Ct)).Should().BeOfType<LoggedIn>().Which.Connection.DisposeAsync();

        _sim.ExpireSessions("bob", _standby);
        _sim.Kill(_master);
        var atStandby = await transport.ConnectAsync(Request(_standby), Ct);
        _sim.Revive(_master);

        // The session failed at the standby (error 5), the user signed in there once, and that session works at the master.
        atStandby.Should().BeOfType<LoggedIn>().Which.Info.Standby.Should().BeTrue();
        _signIns.Should().Equal(_master.Address, _standby.Address);
        (await transport.ConnectAsync(Request(_master), Ct)).Should().BeOfType<LoggedIn>();
        _signIns.Should().HaveCount(2);
        _sim.Attempts.Select(a => a.Outcome).Should().Equal(
            SimulatedAttemptOutcome.LoggedIn, SimulatedAttemptOutcome.SessionExpired, SimulatedAttemptOutcome.LoggedInStandby, SimulatedAttemptOutcome.LoggedIn);
    }

    [Fact]
    public async Task ExpireSessionsAtOnePbx_OtherPbxesStillAcceptTheSession()
    {
        var atStandby = _sim.CreateSessionTransport("bob");
        var atMaster = _sim.CreateSessionTransport("bob");
        _sim.ExpireSessions("bob", _standby);
        var later = _sim.CreateSessionTransport("bob");

        (await atStandby.ConnectAsync(Request(_standby), Ct)).Should().Be(new Rejected(SimulatedPbxSystem.SessionExpiredError, "session expired"));
        (await atMaster.ConnectAsync(Request(_master), Ct)).Should().BeOfType<LoggedIn>();
        (await later.ConnectAsync(Request(_standby), Ct)).Should().BeOfType<Redirected>("a session issued after the expiry is known everywhere");
    }

    [Fact]
    public void LoginMethods_DefaultToDigest_AndAreValidated()
    {
        _master.LoginMethods.Should().Be(SimulatedLoginMethods.Default);
        SimulatedLoginMethods.Default.Should().Be(new SimulatedLoginMethods { UserDigest = true, OAuth2 = false, OAuth2Name = null, AnswersLoginInfo = true });

        _sim.SetLoginMethods(_master, SimulatedLoginMethods.SingleSignOnOnly with { OAuth2Name = "Windows" });
        _master.LoginMethods.OAuth2Name.Should().Be("Windows");
        FluentActions.Invoking(() => _sim.SetLoginMethods(_master, new SimulatedLoginMethods { OAuth2Name = " " }))
            .Should().Throw<ArgumentException>().WithMessage("*OAuth2Name*");
        FluentActions.Invoking(() => _sim.ExpireSessions("nobody", _master)).Should().Throw<ArgumentException>();
    }

    private static PbxLoginRequest Request(SimulatedPbx pbx) => new(pbx.Address, PbxScheme.Wss, 1);

    private IPbxTransport SignInTransport(string user) => _sim.CreateSignInTransport(user, (pbx, _) =>
    {
        _signIns.Add(pbx);
        return ValueTask.CompletedTask;
    });

    /// <summary>Records synchronously (<see cref="Progress{T}"/> would post to the thread pool).</summary>
    private sealed class SyncProgress(List<PbxLoginProgress> reports) : IProgress<PbxLoginProgress>
    {
        public void Report(PbxLoginProgress value) => reports.Add(value);
    }
}
