using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Integration;

/// <summary>The emulator serving wss:// with its self-signed certificate: validation, and the redirect downgrade.</summary>
[Trait("Category", "Integration")]
public sealed class LoopbackTlsTests : IAsyncLifetime
{
    private readonly LoopbackHarness _h = new(new PbxEmulatorOptions { UseTls = true });

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _h.DisposeAsync();

    [Fact]
    public async Task UntrustedCertificate_IsRefusedByDefaultValidation()
    {
        var pbx = await SinglePbxAsync();
        await using var transport = new MyAppsWebSocketTransport(_h.TransportOptions() with { RemoteCertificateValidationCallback = null });

        var outcome = await LoopbackHarness.ConnectOnceAsync(transport, pbx, PbxScheme.Wss);

        outcome.Should().BeOfType<AttemptFailed>();
        _h.Sim.Attempts.Should().BeEmpty("the TLS handshake failed before any login");
    }

    [Fact]
    public async Task TrustedCertificate_LogsInOverWss()
    {
        var pbx = await SinglePbxAsync();
        await using var transport = new MyAppsWebSocketTransport(_h.TransportOptions());

        var outcome = await LoopbackHarness.ConnectOnceAsync(transport, pbx, PbxScheme.Wss);

        var connection = outcome.Should().BeOfType<LoggedIn>().Which.Connection;
        _h.Emulator.GetUri(pbx).Scheme.Should().Be("wss");
        await connection.DisposeAsync();
    }

    [Fact]
    public async Task RedirectOfferingOnlyHttp_IsNeverFollowedToThePlainPort()
    {
        var (master, slave) = await MasterAndSlaveAsync();
        _h.Emulator.SetFault(master, EmulatedFault.RedirectDowngrade);
        await using var transport = new MyAppsWebSocketTransport(_h.TransportOptions());

        var outcome = await LoopbackHarness.ConnectOnceAsync(transport, master, PbxScheme.Wss);

        if (outcome is Redirected redirected)
        {
            redirected.Scheme.Should().Be(PbxScheme.Wss, "a redirect never changes the scheme");
            redirected.Target.Should().NotBe(slave.Address, "info.http is the ws:// port; a wss client must not use it");
        }
    }

    [Fact]
    public async Task RedirectDowngrade_ThroughTheManager_NeverConnects_UntilTheRedirectIsSound()
    {
        var (master, slave) = await MasterAndSlaveAsync();
        _h.Emulator.SetFault(master, EmulatedFault.RedirectDowngrade);
        await _h.StartAsync(master);

        await _h.WaitForFailoversAsync(2);
        _h.Manager.ConnInfo.Up.Should().BeFalse();
        _h.Emulator.SetFault(master, EmulatedFault.None);

        await _h.WaitUpAsync(slave);
    }

    private async Task<SimulatedPbx> SinglePbxAsync()
    {
        var pbx = await _h.Emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        _h.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, pbx);
        return pbx;
    }

    private async Task<(SimulatedPbx Master, SimulatedPbx Slave)> MasterAndSlaveAsync()
    {
        var master = await _h.Emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        var slave = await _h.Emulator.AddSlaveAsync(master, cancellationToken: TestContext.Current.CancellationToken);
        _h.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, slave);
        return (master, slave);
    }
}
