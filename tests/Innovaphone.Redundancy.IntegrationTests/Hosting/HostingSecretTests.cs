using System.Security.Cryptography;
using FluentAssertions;
using Innovaphone.Redundancy.Hosting;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Hosting;

/// <summary>
/// The password (and the session the PBX hands out) reach no log record, exception message or ToString, end to end:
/// configuration, the built-in WebSocket transport, the loopback emulator over TLS with a pinned certificate.
/// </summary>
public sealed class HostingSecretTests
{
    private const string User = "alice";
    private const string Password = "Ho5ting-Pa55word";

    [Fact]
    public void ToString_BoundWithSecrets_ShowsNone()
    {
        // The secrets are keys of the section like any other, bound onto the transport's options; the service's own
        // options, which the hosted service logs at start, hold none of them.
        var configuration = Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions.AddInMemoryCollection(new Microsoft.Extensions.Configuration.ConfigurationBuilder(), new Dictionary<string, string?>
        {
            ["Primary"] = "pbx.example.com/PBX0",
            ["User"] = User,
            ["Password"] = Password,
            ["InitialSession:Id"] = "Sess1on-Id",
            ["InitialSession:Password"] = "Sess1on-Pa55",
        }).Build();
        var options = new RedundancyServiceOptions();
        Microsoft.Extensions.Configuration.ConfigurationBinder.Bind(configuration, options);

        var text = options.ToString();

        text.Should().NotContain(Password).And.NotContain("Sess1on-Id").And.NotContain("Sess1on-Pa55");
        text.Should().Contain("User = alice").And.Contain("Primary = pbx.example.com/PBX0");
    }

    [Fact]
    public async Task RealTransport_OverTlsWithPinnedCertificate_PasswordAndSessionInNoLogRecord()
    {
        await using var emulator = new PbxEmulator(options: new PbxEmulatorOptions { UseTls = true });
        var master = await emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        var slave = await emulator.AddSlaveAsync(master, cancellationToken: TestContext.Current.CancellationToken);
        emulator.System.AddUser(User, Password, home: slave);
        using var host = HostingRig.Build(HostingRig.Settings(
            ("Primary", master.Address.ToString()),
            ("User", User),
            ("Password", Password),
            ("TrustedCertificateThumbprints:0", Convert.ToHexString(emulator.Certificate!.GetCertHash(HashAlgorithmName.SHA256))),
            ("ConnectTimeout", "00:00:02"),
            ("LoginTimeout", "00:00:02")));
        var manager = host.Services.GetRequiredService<RedundancyManager>();

        await host.StartAsync(TestContext.Current.CancellationToken);
        var info = await manager.WaitForAsync(i => i.Up);
        var session = host.Services.GetRequiredService<MyAppsWebSocketTransport>().Session;
        emulator.System.Kill(slave);
        await manager.WaitForAsync(i => i.Up && i.Standby);
        await host.StopAsync(TestContext.Current.CancellationToken);

        info.Cur.Should().Be(slave.Address, "the login over TLS went through with the pinned self-signed certificate");
        session.Should().NotBeNull("the PBX handed out a session, which the failover login used");
        var logs = host.Logs();
        logs.Should().Contain(l => l.Id.Id == HostingLog.ConfiguredId, "the options were logged, so their text is checked too");
        logs.Should().Contain(l => l.Id.Id == 252, "the logins were logged");
        LogSecrets.AssertAbsent(logs, Password);
        LogSecrets.AssertAbsent(logs, session!.Id);
        LogSecrets.AssertAbsent(logs, session.Password);
    }

    [Fact]
    public async Task RealTransport_CertificateNotPinned_IsRefused()
    {
        await using var emulator = new PbxEmulator(options: new PbxEmulatorOptions { UseTls = true });
        var master = await emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        emulator.System.AddUser(User, Password, home: master);
        using var host = HostingRig.Build(HostingRig.Settings(
            ("Primary", master.Address.ToString()),
            ("User", User),
            ("Password", Password),
            ("TrustedCertificateThumbprints:0", new string('A', 64))));
        var manager = host.Services.GetRequiredService<RedundancyManager>();
        var failover = manager.WaitForStateAsync(RedundancyState.Failover);

        await host.StartAsync(TestContext.Current.CancellationToken);
        var change = await failover;
        await host.StopAsync(TestContext.Current.CancellationToken);

        change.Reason.Should().NotBeNullOrEmpty();
        emulator.System.Attempts.Should().BeEmpty("no login reached the PBX whose certificate is not trusted");
        LogSecrets.AssertAbsent(host.Logs(), Password);
    }

    [Fact]
    public void ValidationFailure_WithAPasswordSet_DoesNotShowIt()
    {
        using var host = HostingRig.Build(HostingRig.Settings(("Password", Password), ("SessionPassword", Password)));

        var failure = FluentActions.Invoking(() => host.Services.GetRequiredService<IOptions<RedundancyServiceOptions>>().Value)
            .Should().Throw<OptionsValidationException>().Which;

        failure.Message.Should().NotContain(Password);
        failure.ToString().Should().NotContain(Password);
    }
}
