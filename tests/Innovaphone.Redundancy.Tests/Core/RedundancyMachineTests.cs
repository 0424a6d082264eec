using FluentAssertions;
using Innovaphone.Redundancy.Core;
using Innovaphone.Redundancy.Shell;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Core;

/// <summary>Drives the pure machine event by event; each test names the rule it checks.</summary>
public sealed class RedundancyMachineTests
{
    private static readonly PbxAddress Master = PbxAddress.Parse("master.example.com/PBX0");
    private static readonly PbxAddress Slave1 = PbxAddress.Parse("slave1.example.com/PBX0");
    private static readonly PbxAddress Slave2 = PbxAddress.Parse("slave2.example.com/PBX0");
    private static readonly PbxAddress Standby = PbxAddress.Parse("standby.example.com/PBX0");
    private static readonly MachineConfig Config = new(Master, PbxScheme.Wss, MaxRedirectHops: 5, Phys: null);

    private MachineState _state = MachineState.Initial;
    private MachineCommand[] _commands = [];

    private void Feed(MachineEvent @event, MachineConfig? config = null)
    {
        (_state, var commands) = RedundancyMachine.Decide(config ?? Config, _state, @event);
        _commands = [.. commands];
    }

    private Connect LastConnect => Commands<Connect>().Should().ContainSingle().Subject;

    private IEnumerable<T> Commands<T>()
        where T : MachineCommand => _commands.OfType<T>();

    private static bool Spread(MachineCommand command) => command is Connect { Spread: true } or StartStagger { Spread: true };

    private IEnumerable<T> Notes<T>()
        where T : MachineText => Commands<Note>().Select(n => n.Text).OfType<T>();

    private void Succeed(PbxLoginInfo? info = null) =>
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoggedIn(null!, info ?? PbxLoginInfo.None)));

    private void Fail(AttemptFailureKind kind = AttemptFailureKind.Unreachable) =>
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new AttemptFailed(kind, "test")));

    private void Redirect(PbxAddress target, PbxScheme scheme = PbxScheme.Wss) =>
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new Redirected(target, scheme)));

    private void Lose(ConnectionLossKind kind = ConnectionLossKind.Closed, bool unstable = false) =>
        Feed(new ConnectionLost(_state.ConnectionId!.Value, new ConnectionLoss(kind, "test"), unstable));

    [Fact]
    public void R2_Start_ConnectsToPrimary()
    {
        Feed(new StartRequested(null));

        _state.Phase.Should().Be(RedundancyState.Connecting);
        LastConnect.Target.Should().Be(Master);
        LastConnect.Scheme.Should().Be(PbxScheme.Wss);
        LastConnect.AttemptNumber.Should().Be(1);
    }

    [Fact]
    public void R1_StoredRecordOfOtherPrimary_IsIgnored()
    {
        Feed(new StartRequested(new RedundancyRecord(Slave1, Slave2, Slave2)));

        _state.Secondary.Should().BeNull();
        _state.ToConnInfo(Config).Pri.Should().Be(Master);
    }

    [Fact]
    public void R5_StoredRecordOfThisPrimary_GivesSecondaryAndHome()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave2, Slave2)));

        _state.Secondary.Should().Be(Slave2);
        _state.Home.Should().Be(Slave2);
        _state.ToConnInfo(Config).Sec.Should().Be(Slave2);
    }

    [Fact]
    public void R3_Redirect_IsFollowedWithinTheSameAttempt()
    {
        Feed(new StartRequested(null));
        var first = _state.AttemptNumber;
        Redirect(Slave2);

        _state.Phase.Should().Be(RedundancyState.Redirected);
        LastConnect.Target.Should().Be(Slave2);
        LastConnect.Hop.Should().Be(1);
        _state.AttemptNumber.Should().Be(first);
    }

    [Fact]
    public void R3_RedirectChangingScheme_IsRefusedAsFailedAttempt()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, null)));
        Redirect(Slave2, PbxScheme.Ws);

        Notes<MachineText.RedirectRefused>().Should().Contain(n => MachineTextFormat.Format(n).Contains("scheme", StringComparison.Ordinal));
        LastConnect.Target.Should().Be(Slave1, "the refused attempt counts as failed and the round goes on with the secondary");
    }

    [Fact]
    public void R3_RedirectLoop_IsRefused()
    {
        Feed(new StartRequested(null));
        Redirect(Slave2);
        Redirect(Master);

        Notes<MachineText.RedirectRefused>().Should().Contain(n => MachineTextFormat.Format(n).Contains("loop", StringComparison.Ordinal));
        _state.Phase.Should().Be(RedundancyState.Failover);
    }

    [Fact]
    public void R3_HopLimit_IsEnforced()
    {
        var config = Config with { MaxRedirectHops = 2 };
        Feed(new StartRequested(null), config);
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new Redirected(Slave1, PbxScheme.Wss)), config);
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new Redirected(Slave2, PbxScheme.Wss)), config);
        Commands<Connect>().Should().ContainSingle();
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new Redirected(Standby, PbxScheme.Wss)), config);

        Notes<MachineText.RedirectRefused>().Should().Contain(n => MachineTextFormat.Format(n).Contains("hop limit", StringComparison.Ordinal));
        Commands<Connect>().Should().BeEmpty();
        _state.Phase.Should().Be(RedundancyState.Failover);
    }

    [Fact]
    public void R5_RedirectedLogin_SecondaryIsThePbxWeEndedOn()
    {
        Feed(new StartRequested(null));
        Redirect(Slave2);
        Succeed(new PbxLoginInfo(Standby: false, Master: Master));

        _state.Phase.Should().Be(RedundancyState.Connected);
        _state.Secondary.Should().Be(Slave2);
        _state.Home.Should().Be(Slave2);
        Commands<Persist>().Should().ContainSingle().Which.ToRecord(Config).Should().Be(new RedundancyRecord(Master, Slave2, Slave2) { HomeMaster = Master }, "the hints of the user's PBX are kept for R4");
    }

    [Fact]
    public void R5_DirectLogin_SecondaryIsTheExplicitStandby()
    {
        Feed(new StartRequested(null));
        Succeed(new PbxLoginInfo(Standby: false, Alternative: Standby));

        _state.Secondary.Should().Be(Standby);
    }

    [Fact]
    public void R5_DirectLoginOnSlaveWithoutStandby_SecondaryIsTheMaster()
    {
        var config = Config with { Primary = Slave1 };
        Feed(new StartRequested(null), config);
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoggedIn(null!, new PbxLoginInfo(false, null, Master))), config);

        _state.Secondary.Should().Be(Master);
    }

    [Fact]
    public void R5_DirectLoginAtUsersSlaveWhilePrimarySlaveIsDown_SecondaryIsItsMaster()
    {
        // Configured at slave S1, user on slave S2: S1 is down, the stored secondary S2 takes the login directly.
        var config = Config with { Primary = Slave1 };
        Feed(new StartRequested(new RedundancyRecord(Slave1, Slave2, Slave2)), config);
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new AttemptFailed(AttemptFailureKind.Unreachable, "test")), config);
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoggedIn(null!, new PbxLoginInfo(false, null, Master))), config);

        _state.Phase.Should().Be(RedundancyState.Connected);
        _state.Home.Should().Be(Slave2);
        _state.Secondary.Should().Be(Master, "not redirected: the master of the PBX we ended on stands by for it");
        Commands<Persist>().Should().ContainSingle().Which.ToRecord(config).Should().Be(new RedundancyRecord(Slave1, Master, Slave2) { HomeMaster = Master });
    }

    [Fact]
    public void R5_DirectLoginAtSlaveWhoseMasterIsThePrimary_SecondaryStaysThatSlave()
    {
        // Configured at master M, user on slave S1, M down: S1's master is the primary, which can never be the secondary.
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Slave1)));
        Fail();
        Succeed(new PbxLoginInfo(Standby: false, Master: Master));

        _state.Phase.Should().Be(RedundancyState.Connected);
        _state.Secondary.Should().Be(Slave1);
    }

    [Fact]
    public void R5_RedirectedBackToThePrimary_SecondaryIsThePrimarysStandby_NotLost()
    {
        // Tried at the secondary (beside a slow primary, or after it failed), which sends the user home to the primary:
        // the redirect names the primary, which cannot be the secondary; the primary's own standby (alt) stays it.
        Feed(new StartRequested(new RedundancyRecord(Master, Standby, Master)));
        Fail();
        _commands.OfType<Connect>().Last().Target.Should().Be(Standby);
        Redirect(Master);
        Succeed(new PbxLoginInfo(Standby: false, Alternative: Standby));

        _state.Phase.Should().Be(RedundancyState.Connected);
        _state.Home.Should().Be(Master);
        _state.Secondary.Should().Be(Standby, "a master that fails next must still be followed by its standby (R6)");
        Commands<Persist>().Should().ContainSingle().Which.ToRecord(Config).Should().Be(new RedundancyRecord(Master, Standby, Master) { HomeAlternative = Standby });
    }

    [Fact]
    public void R5_RedirectedBackToThePrimaryWithoutHints_NoSecondary()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Standby, Master)));
        Fail();
        Redirect(Master);
        Succeed(new PbxLoginInfo(Standby: false));

        _state.Secondary.Should().BeNull("the primary names no standby and no master, as after a direct login without hints");
    }

    [Fact]
    public void R5_DirectLoginAtSecondaryWithoutHints_SecondaryStaysThatPbx()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave2, Slave2)));
        Fail();
        Succeed(new PbxLoginInfo(Standby: false));

        _state.Secondary.Should().Be(Slave2, "with no alt and no master the PBX we ended on is the only second PBX we know");
    }

    [Fact]
    public void R5_DirectLoginAtSecondaryWithExplicitStandby_SecondaryIsThatStandby()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave2, Slave2)));
        Fail();
        Succeed(new PbxLoginInfo(Standby: false, Alternative: Standby, Master: Master));

        _state.Secondary.Should().Be(Standby, "alt wins over master");
    }

    [Fact]
    public void R5_DirectLoginWithoutHints_NoSecondary()
    {
        Feed(new StartRequested(null));
        Succeed(new PbxLoginInfo(Standby: false));

        _state.Secondary.Should().BeNull();
        _state.ToConnInfo(Config).Should().Be(new ConnInfo(true, false, Master, Master, null, null));
    }

    [Fact]
    public void R4_R5_StandbyLogin_KeepsConnectionAndNeverChangesPriSec()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave2, Slave2)));
        Fail();
        Succeed(new PbxLoginInfo(Standby: true, Master: Master));

        _state.Phase.Should().Be(RedundancyState.Standby);
        _state.Secondary.Should().Be(Slave2);
        _state.ToConnInfo(Config).Should().Be(new ConnInfo(true, true, Slave2, Master, Slave2, null));
        Commands<Persist>().Should().BeEmpty();
        Commands<CloseConnection>().Should().BeEmpty();
    }

    [Fact]
    public void R4_StandbyInferred_WhenUnredirectedLoginLandsAwayFromHome()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Standby, Slave2)));
        Succeed(PbxLoginInfo.None);

        _state.Phase.Should().Be(RedundancyState.Standby);
    }

    [Fact]
    public void R4_ExplicitStandbyFalse_WinsOverInference()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Standby, Slave2)));
        Succeed(new PbxLoginInfo(Standby: false));

        _state.Phase.Should().Be(RedundancyState.Connected);
        _state.Home.Should().Be(Master);
    }

    [Fact]
    public void R6_Alternation_PrimarySecondaryThenBackoffThenPrimary()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave2, Slave2)));
        var targets = new List<PbxAddress?> { LastConnect.Target };
        Fail();
        targets.Add(LastConnect.Target);
        Fail();

        _state.Phase.Should().Be(RedundancyState.Failover);
        var timer = Commands<StartBackoff>().Should().ContainSingle().Subject.TimerId;
        Commands<Connect>().Should().BeEmpty("between rounds there is a backoff");

        Feed(new BackoffScheduled(timer, DateTimeOffset.UnixEpoch, TimeSpan.FromSeconds(1)));
        _state.NextAttemptAt.Should().Be(DateTimeOffset.UnixEpoch);
        Feed(new BackoffElapsed(timer));
        targets.Add(LastConnect.Target);
        Fail();
        targets.Add(LastConnect.Target);

        targets.Should().Equal(Master, Slave2, Master, Slave2);
    }

    [Fact]
    public void R6_NoSecondary_PrimaryAlone()
    {
        Feed(new StartRequested(null));
        Fail();

        _state.Phase.Should().Be(RedundancyState.Failover);
        Commands<StartBackoff>().Should().ContainSingle();
    }

    [Theory]
    [InlineData("cur-is-primary")]
    [InlineData("cur-is-secondary")]
    [InlineData("cur-is-other")]
    public void R7_Loss_ReconnectsToCurrentFirstThenAlternatesFromPrimary(string scenario)
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave2, Slave2)));
        var current = scenario switch { "cur-is-primary" => Master, "cur-is-secondary" => Slave2, _ => Standby };
        if (current != Master)
        {
            Redirect(current);
        }

        Succeed(new PbxLoginInfo(Standby: current == Standby, Alternative: Slave2));
        _state.Current.Should().Be(current);
        Lose();

        var targets = new List<PbxAddress?> { LastConnect.Target };
        while (_state.Phase != RedundancyState.Failover)
        {
            Fail();
            targets.AddRange(Commands<Connect>().Select(c => c.Target));
        }

        var expected = scenario switch
        {
            "cur-is-primary" => new[] { Master, Slave2 },
            "cur-is-secondary" => [Slave2, Master, Slave2],
            _ => [Standby, Master, Slave2],
        };
        targets.Should().Equal(expected);
    }

    [Fact]
    public void R7_StableLoss_ResetsTheBackoffAndReconnectsAtOnce()
    {
        Feed(new StartRequested(null));
        Succeed();
        Commands<ResetBackoff>().Should().BeEmpty("the backoff is reset only once the connection proved stable");

        Lose();

        Commands<ResetBackoff>().Should().ContainSingle();
        LastConnect.Target.Should().Be(Master);
    }

    [Fact]
    public void R7_FirstEarlyLoss_ReconnectsAtOnceToCurrentFirst()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave2, Slave2)));
        Redirect(Slave2);
        Succeed();
        Lose(unstable: true);

        _state.Phase.Should().Be(RedundancyState.Connecting);
        LastConnect.Target.Should().Be(Slave2, "R7: the current PBX first, at once: one early loss may be chance");
        Commands<StartBackoff>().Should().BeEmpty();
        Commands<ResetBackoff>().Should().BeEmpty("an early loss does not end the episode");
    }

    [Fact]
    public void R7_SecondEarlyLossInARow_BacksOffFirst_ThenReconnectsToCurrentFirst()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave2, Slave2)));
        Redirect(Slave2);
        Succeed();
        Lose(unstable: true);
        Succeed();
        Lose(unstable: true);

        _state.Phase.Should().Be(RedundancyState.Failover);
        Commands<Connect>().Should().BeEmpty();
        Commands<ResetBackoff>().Should().BeEmpty("the episode goes on, so the next backoff is longer");
        var timer = Commands<StartBackoff>().Should().ContainSingle().Subject.TimerId;

        Feed(new BackoffElapsed(timer));
        LastConnect.Target.Should().Be(Slave2, "R7: the current PBX first, after the backoff");
        Fail();
        LastConnect.Target.Should().Be(Master);
    }

    [Fact]
    public void R8_StandbyBack_ReconnectsAtOnceFromPrimary()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        Fail();
        Succeed(new PbxLoginInfo(Standby: true));
        _state.Phase.Should().Be(RedundancyState.Standby);

        Lose(ConnectionLossKind.StandbyBack);

        _state.Phase.Should().Be(RedundancyState.Connecting);
        LastConnect.Target.Should().Be(Master);
        Commands<StartBackoff>().Should().BeEmpty();
    }

    [Fact]
    public void R9_Rejected_FaultsWithoutRetry()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Master)));
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new Rejected(1, "wrong password")));

        _state.Phase.Should().Be(RedundancyState.Faulted);
        MachineTextFormat.Format(_state.Reason).Should().Contain("wrong password");
        Commands<Connect>().Should().BeEmpty();
        Commands<StartBackoff>().Should().BeEmpty();
    }

    [Fact]
    public void R9_RejectedByAPbxThatIsNotTheUsers_EndsThatAttempt_TheRoundGoesOn()
    {
        // The user's PBX is Slave1 (stored); the primary Master rejects: the secondary is tried next, nothing faults.
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Slave1)));
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new Rejected(1, "unknown user")));

        _state.Phase.Should().Be(RedundancyState.Connecting);
        _state.RejectionsElsewhere.Should().Be(1);
        LastConnect.Target.Should().Be(Slave1);
        MachineTextFormat.Format(Notes<MachineText.LoginRejectedElsewhere>().Should().ContainSingle().Subject)
            .Should().Contain("which is not the user's PBX (slave1.example.com/PBX0)");
    }

    [Fact]
    public void R9_RejectionsElsewhere_TheThirdInARowFaults_ALoginBetweenStartsAgain()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Slave1)));
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new Rejected(1, "no")));
        Fail();
        Feed(new BackoffElapsed(_state.TimerId!.Value));
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new Rejected(1, "no")));
        _state.RejectionsElsewhere.Should().Be(2);
        Succeed(new PbxLoginInfo(Standby: false));
        _state.RejectionsElsewhere.Should().Be(0, "a login ends the series");

        Lose();
        Fail();
        for (var i = 1; i <= RedundancyMachine.MaxRejectionsElsewhere; i++)
        {
            if (_state.TimerId is long timer)
            {
                Feed(new BackoffElapsed(timer));
            }

            _state.AttemptTarget.Should().Be(Master);
            Feed(new AttemptCompleted(_state.AttemptId!.Value, new Rejected(1, "no")));
            if (i < RedundancyMachine.MaxRejectionsElsewhere)
            {
                Fail();
            }
        }

        _state.Phase.Should().Be(RedundancyState.Faulted);
        MachineTextFormat.Format(_state.Reason).Should().EndWith("3 rejections in a row by PBXes other than the user's: not retrying");
    }

    [Fact]
    public void R9_RejectedAfterARedirect_WhileTheUsersPbxIsUnknown_IsNotAVerdictOnTheCredentials()
    {
        Feed(new StartRequested(null));
        Redirect(Slave2);
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new Rejected(1, "busy")));

        _state.Phase.Should().Be(RedundancyState.Failover, "the redirect proved the credentials: back off and try again");
        Notes<MachineText.LoginRejectedElsewhere>().Should().ContainSingle();
    }

    [Fact]
    public void R4_NoFlag_RedirectChainThroughTheUsersPbx_EndsAtTheUsersNewPbx()
    {
        // Slave1 was the user's PBX and named Master its master; now Slave1 itself redirects to Master.
        Feed(new StartRequested(new RedundancyRecord(Slave1, null, Slave1) { HomeMaster = Master }), Config with { Primary = Slave1 });
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new Redirected(Master, PbxScheme.Wss)), Config with { Primary = Slave1 });
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoggedIn(null!, PbxLoginInfo.None)), Config with { Primary = Slave1 });

        _state.Phase.Should().Be(RedundancyState.Connected, "the user's PBX is up and sent the user on: Master is the user's PBX now");
        _state.Home.Should().Be(Master);
    }

    [Theory]
    [InlineData("standby", true)]
    [InlineData("master", true)]
    [InlineData("other", false)]
    public void R4_NoFlag_DirectLogin_TheHintsOfTheUsersPbxDecide(string reached, bool standby)
    {
        var pbx = reached switch { "standby" => Standby, "master" => Master, _ => Slave2 };
        var config = Config with { Primary = pbx };
        Feed(new StartRequested(new RedundancyRecord(pbx, null, Slave1) { HomeAlternative = Standby, HomeMaster = Master }), config);
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoggedIn(null!, PbxLoginInfo.None)), config);

        _state.Phase.Should().Be(standby ? RedundancyState.Standby : RedundancyState.Connected);
        _state.Home.Should().Be(standby ? Slave1 : pbx);
    }

    [Fact]
    public void R4_NoFlag_ASlaveOfAMasterHome_CanStandIn()
    {
        // The user's PBX is a master with an explicit standby; any slave of it can stand in (the concept's table).
        var config = Config with { Primary = Slave2 };
        Feed(new StartRequested(new RedundancyRecord(Slave2, null, Master) { HomeAlternative = Standby }), config);
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoggedIn(null!, new PbxLoginInfo(Master: Master))), config);

        _state.Phase.Should().Be(RedundancyState.Standby);
    }

    [Fact]
    public void R4_StandbyBackFromAPbxTakenForHome_TakesBackWhatThatLoginRewrote()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Slave1) { HomeMaster = Master }));
        Redirect(Slave2);
        Succeed(PbxLoginInfo.None);
        _state.Home.Should().Be(Slave2, "a redirect chain that ends outside the hints of Slave1 reads as a home login");

        Lose(ConnectionLossKind.StandbyBack);

        _state.Home.Should().Be(Slave1);
        _state.Secondary.Should().Be(Slave1);
        _state.HomeTopology.Should().Be(new PbxLoginInfo(Master: Master));
        Notes<MachineText.StandbyCorrected>().Should().ContainSingle();
        Commands<Persist>().Should().ContainSingle().Which.ToRecord(Config)
            .Should().Be(new RedundancyRecord(Master, Slave1, Slave1) { HomeMaster = Master });
        LastConnect.Target.Should().Be(Master, "R8: the normal procedure from the primary");
    }

    [Fact]
    public void R9_LogoutResult_FaultsWithoutReconnect()
    {
        Feed(new StartRequested(null));
        Succeed();
        Lose(ConnectionLossKind.LoggedOut);

        _state.Phase.Should().Be(RedundancyState.Faulted);
        Commands<Connect>().Should().BeEmpty();
    }

    [Fact]
    public void R9_StartAfterFault_BeginsAnew()
    {
        Feed(new StartRequested(null));
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new Rejected(1, "wrong password")));
        Feed(new StartRequested(null));

        _state.Phase.Should().Be(RedundancyState.Connecting);
        LastConnect.Target.Should().Be(Master);
    }

    [Fact]
    public void R10_ConnInfo_FollowsTheState()
    {
        var config = Config with { Phys = "berlin" };
        _state.ToConnInfo(config).Should().Be(new ConnInfo(false, false, null, Master, null, "berlin"));
        Feed(new StartRequested(null), config);
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new Redirected(Slave2, PbxScheme.Wss)), config);
        Feed(new AttemptCompleted(_state.AttemptId!.Value, new LoggedIn(null!, PbxLoginInfo.None)), config);

        _state.ToConnInfo(config).Should().Be(new ConnInfo(true, false, Slave2, Master, Slave2, "berlin"));
    }

    [Fact]
    public void R11_Stop_CancelsAttemptAndBackoffAndClosesConnection()
    {
        Feed(new StartRequested(null));
        var attempt = _state.AttemptId!.Value;
        Feed(new StopRequested());
        _commands.Should().Contain(new CancelAttempt(attempt));
        Commands<ResetBackoff>().Should().ContainSingle();
        _state.Phase.Should().Be(RedundancyState.Stopped);

        Feed(new StartRequested(null));
        Succeed();
        var connection = _state.ConnectionId!.Value;
        Feed(new StopRequested());
        _commands.Should().Contain(new CloseConnection(connection));
        _state.ToConnInfo(Config).Up.Should().BeFalse();
    }

    [Fact]
    public void Login_TheWinnersConnectionIsAdopted()
    {
        Feed(new StartRequested(null));
        var attempt = _state.AttemptId!.Value;
        Succeed(new PbxLoginInfo(Standby: false));

        Commands<AdoptConnection>().Should().ContainSingle().Which.ConnectionId.Should().Be(attempt);
        _state.ConnectionId.Should().Be(attempt);
    }

    [Theory]
    [InlineData(ConnectionLossKind.Closed)]
    [InlineData(ConnectionLossKind.StandbyBack)]
    public void ReconnectAfterALoss_IsMarkedForSpreading_OtherAttemptsAreNot(ConnectionLossKind kind)
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, Slave1)));
        Commands<Connect>().Should().OnlyContain(c => !c.Spread, "a start is not a reconnect");
        Redirect(Slave1);
        Succeed(new PbxLoginInfo(Standby: false));

        Lose(kind);

        _commands.Where(c => c is Connect or StartStagger).Should().NotBeEmpty().And.OnlyContain(c => Spread(c));
        Fail();
        Commands<Connect>().Should().ContainSingle().Which.Spread.Should().BeFalse("only the first attempt after the loss is spread");
    }

    [Fact]
    public void Failover_IsAnnounceableOnceItsNextAttemptTimeIsKnown()
    {
        Feed(new StartRequested(null));
        Fail();
        _state.Phase.Should().Be(RedundancyState.Failover);
        _state.IsAnnounceable.Should().BeFalse();

        Feed(new BackoffScheduled(_state.TimerId!.Value, DateTimeOffset.UnixEpoch, TimeSpan.FromSeconds(1)));

        _state.IsAnnounceable.Should().BeTrue();
    }

    [Fact]
    public void StaleResults_AreIgnored()
    {
        Feed(new StartRequested(new RedundancyRecord(Master, Slave1, null)));
        var stale = _state.AttemptId!.Value;
        Fail();
        var before = _state;

        Feed(new AttemptCompleted(stale, new LoggedIn(null!, PbxLoginInfo.None)));
        _state.Should().Be(before);
        _commands.Should().HaveCount(2);
        _commands[0].Should().Be(new Note(new MachineText.Ignored(IgnoredEvent.LateAttemptResult, stale)));
        _commands[1].Should().Be(new CloseConnection(stale), "the late login's connection is closed, never adopted");

        Feed(new BackoffElapsed(12345));
        _state.Should().Be(before);
        Feed(new ConnectionLost(stale, new ConnectionLoss(ConnectionLossKind.Closed, "late")));
        _state.Should().Be(before);
    }

    [Fact]
    public void StartWhileRunning_IsIgnored()
    {
        Feed(new StartRequested(null));
        var before = _state;
        Feed(new StartRequested(null));

        _state.Should().Be(before);
        Commands<Connect>().Should().BeEmpty();
    }
}
