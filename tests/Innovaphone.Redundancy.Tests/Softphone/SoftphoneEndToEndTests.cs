using FluentAssertions;
using Innovaphone.Redundancy.Softphone;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Tests.Scenarios;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Softphone;

/// <summary>
/// The registrar on a real <see cref="RedundancyManager"/> and the simulated PBX system, in virtual time: a softphone
/// registers where the registrar says, with its registrations modelled as logins of the simulator (which redirect and
/// keep standby registrations as PBXes do), through the death and return of the user's PBX.
/// </summary>
public sealed class SoftphoneEndToEndTests : IAsyncLifetime
{
    private readonly ScenarioHarness _h = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _h.DisposeAsync();

    [Fact]
    public async Task MasterDies_TargetsFollow_InBothHosts_AndReturnWhenItIsBack()
    {
        var master = _h.Sim.AddMaster("master.example.com");
        var standby = _h.Sim.AddStandby("standby.example.com", master);
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, master);
        var ct = TestContext.Current.CancellationToken;

        var manager = _h.Create(master);
        using var launcher = new SoftphoneRegistrar(manager.ConnInfoChanges, new SoftphoneRegistrationOptions
        {
            HostKind = SoftphoneHostKind.Launcher,
            LoggerFactory = _h.LoggerFactory,
        });
        using var browser = new SoftphoneRegistrar(manager.ConnInfoChanges, new SoftphoneRegistrationOptions
        {
            HostKind = SoftphoneHostKind.Browser,
            LoggerFactory = _h.LoggerFactory,
        });
        await using var launcherPhone = new SimulatedSoftphone(launcher, _h.Sim.CreateTransport(ScenarioHarness.User, ScenarioHarness.Password));
        await using var browserPhone = new SimulatedSoftphone(browser, _h.Sim.CreateTransport(ScenarioHarness.User, ScenarioHarness.Password));
        await manager.StartAsync(ct);

        // Up at the master; the manager learns the master's standby as the secondary.
        await _h.WaitForConnInfoAsync(c => c.Up && c.Cur == master.Address && c.Sec == standby.Address, "up at the master with sec");
        await _h.WaitUntilAsync(() => launcher.Current.Plan.Targets.Count == 2 && browser.Current.Target == master.Address, "both plans");
        launcher.Current.Plan.Targets.Should().Equal(master.Address, standby.Address);
        launcher.Current.PhysicalLocation.Should().Be(SoftphonePhysicalLocation.OfPrimary(master.Address));
        browser.Current.PhysicalLocation.Should().BeSameAs(SoftphonePhysicalLocation.None);
        (await launcherPhone.SettleAsync(ct)).Should().Match<SoftphoneRegistration>(d => d.Status == SoftphoneRegistrationStatus.Registered && d.Target == master.Address);
        (await browserPhone.SettleAsync(ct)).Should().Match<SoftphoneRegistration>(d => d.Status == SoftphoneRegistrationStatus.Registered && d.Target == master.Address);

        // The master dies: the manager goes to the standby PBX; the launcher's softphone loses its registration and
        // alternates to the secondary, the browser's follows cur. The standby PBX keeps both registrations as standby.
        _h.Sim.Kill(master);
        await _h.WaitUpAsync(standby, standby: true);
        await _h.WaitUntilAsync(() => browser.Current.Target == standby.Address, "the browser's target follows cur");
        (await launcherPhone.SettleAsync(ct)).Should().Match<SoftphoneRegistration>(d => d.Status == SoftphoneRegistrationStatus.RegisteredStandby && d.Target == standby.Address);
        (await browserPhone.SettleAsync(ct)).Should().Match<SoftphoneRegistration>(d => d.Status == SoftphoneRegistrationStatus.RegisteredStandby && d.Target == standby.Address);
        launcher.Current.Plan.Targets.Should().Equal([master.Address, standby.Address], "pri/sec do not change through a failover");
        browser.Current.Plan.Targets.Should().Equal(standby.Address);

        // The master is back: the standby PBX ends the standby logins (StandbyBack) and both softphones go home.
        _h.Sim.Revive(master);
        await _h.WaitUpAsync(master);
        await _h.WaitUntilAsync(() => browser.Current.Plan.Targets.SequenceEqual([master.Address]), "the browser's plan follows cur");
        (await launcherPhone.SettleAsync(ct)).Should().Match<SoftphoneRegistration>(d => d.Status == SoftphoneRegistrationStatus.Registered && d.Target == master.Address);
        (await browserPhone.SettleAsync(ct)).Should().Match<SoftphoneRegistration>(d => d.Status == SoftphoneRegistrationStatus.Registered && d.Target == master.Address);

        launcherPhone.Journal.Should().Equal(
            $"registered at {master.Address}",
            $"lost {master.Address}",
            $"standby at {standby.Address}",
            $"lost {standby.Address}",
            $"registered at {master.Address}");
        browserPhone.Journal.Should().StartWith([$"registered at {master.Address}", $"lost {master.Address}", $"standby at {standby.Address}"]);
    }

    /// <summary>
    /// A softphone that registers where its registrar says, using simulator logins as registrations, and reports
    /// what happened. <see cref="SettleAsync"/> acts until the registrar's decision is a registration it holds.
    /// </summary>
    private sealed class SimulatedSoftphone(SoftphoneRegistrar registrar, IPbxTransport transport) : IAsyncDisposable
    {
        private IPbxConnection? _registration;
        private long _attempt;

        public List<string> Journal { get; } = [];

        public async Task<SoftphoneRegistration> SettleAsync(CancellationToken cancellationToken)
        {
            for (var step = 0; step < 20; step++)
            {
                var decision = registrar.Current;
                if (_registration is { Lost.IsCompleted: true } lost)
                {
                    _registration = null;
                    Journal.Add($"lost {lost.Pbx}");
                    await lost.DisposeAsync();
                    registrar.ReportFailure(lost.Pbx);
                    continue;
                }

                if (decision.Target is not { } target ||
                    (decision.Status is SoftphoneRegistrationStatus.Registered or SoftphoneRegistrationStatus.RegisteredStandby && _registration?.Pbx == target))
                {
                    return decision;
                }

                if (_registration is { } previous)
                {
                    _registration = null;
                    Journal.Add($"moved from {previous.Pbx}");
                    await previous.DisposeAsync();
                }

                switch (await transport.ConnectAsync(new PbxLoginRequest(target, PbxScheme.Wss, ++_attempt), cancellationToken))
                {
                    case LoggedIn loggedIn:
                        _registration = loggedIn.Connection;
                        var standby = loggedIn.Info.Standby == true;
                        Journal.Add($"{(standby ? "standby" : "registered")} at {target}");
                        registrar.ReportRegistered(target, standby);
                        break;
                    case Redirected redirected:
                        registrar.ReportRedirect(target, redirected.Target);
                        break;
                    case AttemptFailed:
                        registrar.ReportFailure(target);
                        break;
                    case var other:
                        throw new InvalidOperationException($"Unexpected registration outcome {other}.");
                }
            }

            throw new InvalidOperationException($"The softphone did not settle: {registrar.Current}");
        }

        public async ValueTask DisposeAsync()
        {
            if (_registration is not null)
            {
                await _registration.DisposeAsync();
            }
        }
    }
}
