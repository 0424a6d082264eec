using System.Globalization;
using System.Reflection;
using System.Security.Cryptography.X509Certificates;
using FluentAssertions;
using Innovaphone.Redundancy.Hosting;
using Innovaphone.Redundancy.Persistence;
using Innovaphone.Redundancy.Transport;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Hosting;

public sealed class RedundancyServiceOptionsBindingTests
{
    private const string Thumbprint = "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF";

    /// <summary>A value other than the default for every key bound from configuration.</summary>
    private static readonly Dictionary<string, string> EveryKey = new()
    {
        ["Primary"] = "pbx.example.com:8443/PBX1",
        ["User"] = "alice",
        ["Password"] = "pw-binding",
        ["SessionId"] = "session-id",
        ["SessionPassword"] = "session-pw",
        ["Scheme"] = "Ws",
        ["AllowInsecure"] = "true",
        ["TrustedCertificateThumbprints:0"] = "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
        ["Phys"] = "berlin",
        ["PersistState"] = "false",
        ["StateFile"] = "/var/lib/app/redundancy.json",
        ["StateDirectory"] = "/var/lib/app",
        ["AttemptTimeout"] = "00:00:07",
        ["BackoffInitial"] = "00:00:00.250",
        ["BackoffMax"] = "00:01:00",
        ["BackoffJitter"] = "false",
        ["MinStableConnection"] = "00:00:05",
        ["ReconnectJitter"] = "00:00:03",
        ["StaggerDelay"] = "00:00:00.400",
        ["MaxRedirectHops"] = "3",
        ["UserAgent"] = "MyService/1.0",
        ["PathTemplate"] = "/{module}/APPS/{build}/websocket",
        ["Build"] = "140000",
        ["MaxFrameBytes"] = "65536",
        ["KeepAliveInterval"] = "00:00:30",
        ["KeepAliveTimeout"] = "00:00:05",
        ["ConnectTimeout"] = "00:00:03",
        ["LoginTimeout"] = "00:00:04",
        ["AuthorizeTimeout"] = "00:06:00",
        ["CloseTimeout"] = "00:00:01",
    };

    [Fact]
    public void EveryKey_CoversEveryBindableProperty()
    {
        // A new option without a binding test fails here. ConfigureTransport is a delegate: code only.
        var bindable = typeof(RedundancyServiceOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.Name != nameof(RedundancyServiceOptions.ConfigureTransport))
            .Select(p => p.Name);
        EveryKey.Keys.Select(k => k.Split(':')[0]).Should().BeEquivalentTo(bindable);
    }

    [Fact]
    public void Docs_ListEveryKey()
    {
        var doc = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "hosting.md"));

        doc.Should().ContainAll(EveryKey.Keys.Select(k => $"| `{k.Split(':')[0]}` |"));
    }

    [Fact]
    public void Bind_EveryKey_ReachesTheOptions()
    {
        using var host = HostingRig.Build(HostingRig.Settings([.. EveryKey.Select(kv => (kv.Key, (string?)kv.Value))]));

        var o = host.Services.GetRequiredService<IOptions<RedundancyServiceOptions>>().Value;

        o.Primary.Should().Be("pbx.example.com:8443/PBX1");
        o.User.Should().Be("alice");
        o.Password.Should().Be("pw-binding");
        o.SessionId.Should().Be("session-id");
        o.SessionPassword.Should().Be("session-pw");
        o.Scheme.Should().Be(PbxScheme.Ws);
        o.AllowInsecure.Should().BeTrue();
        o.TrustedCertificateThumbprints.Should().ContainSingle().Which.Should().StartWith("00:11:22");
        o.Phys.Should().Be("berlin");
        o.PersistState.Should().BeFalse();
        o.StateFile.Should().Be("/var/lib/app/redundancy.json");
        o.StateDirectory.Should().Be("/var/lib/app");
        o.AttemptTimeout.Should().Be(TimeSpan.FromSeconds(7));
        o.BackoffInitial.Should().Be(TimeSpan.FromMilliseconds(250));
        o.BackoffMax.Should().Be(TimeSpan.FromMinutes(1));
        o.BackoffJitter.Should().BeFalse();
        o.MinStableConnection.Should().Be(TimeSpan.FromSeconds(5));
        o.ReconnectJitter.Should().Be(TimeSpan.FromSeconds(3));
        o.StaggerDelay.Should().Be(TimeSpan.FromMilliseconds(400));
        o.MaxRedirectHops.Should().Be(3);
        o.UserAgent.Should().Be("MyService/1.0");
        o.PathTemplate.Should().Be("/{module}/APPS/{build}/websocket");
        o.Build.Should().Be(140000);
        o.MaxFrameBytes.Should().Be(65536);
        o.KeepAliveInterval.Should().Be(TimeSpan.FromSeconds(30));
        o.KeepAliveTimeout.Should().Be(TimeSpan.FromSeconds(5));
        o.ConnectTimeout.Should().Be(TimeSpan.FromSeconds(3));
        o.LoginTimeout.Should().Be(TimeSpan.FromSeconds(4));
        o.AuthorizeTimeout.Should().Be(TimeSpan.FromMinutes(6));
        o.CloseTimeout.Should().Be(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void Bind_EveryKey_ReachesTheManagerAndTransportOptions()
    {
        using var host = HostingRig.Build(HostingRig.Settings([.. EveryKey.Select(kv => (kv.Key, (string?)kv.Value))]));
        var o = host.Services.GetRequiredService<IOptions<RedundancyServiceOptions>>().Value;
        var time = TimeProvider.System;

        var transport = RedundancyServiceFactory.ToTransportOptions(o, null, time);
        var manager = RedundancyServiceFactory.ToManagerOptions(o, PbxAddress.Parse(o.Primary!), new NeverTransport(), null, null, time);

        transport.Should().BeEquivalentTo(new
        {
            Username = "alice",
            Password = "pw-binding",
            InitialSession = new MyAppsSession("session-id", "session-pw"),
            UserAgent = "MyService/1.0",
            PathTemplate = "/{module}/APPS/{build}/websocket",
            Build = 140000,
            AllowInsecure = true,
            MaxFrameBytes = 65536,
            KeepAliveInterval = TimeSpan.FromSeconds(30),
            KeepAliveTimeout = TimeSpan.FromSeconds(5),
            ConnectTimeout = TimeSpan.FromSeconds(3),
            LoginTimeout = TimeSpan.FromSeconds(4),
            SignInTimeout = TimeSpan.FromMinutes(6),
            CloseTimeout = TimeSpan.FromSeconds(1),
        });
        transport.RemoteCertificateValidationCallback.Should().NotBeNull("a thumbprint is configured");
        manager.Should().BeEquivalentTo(new
        {
            Primary = new PbxAddress("pbx.example.com", "PBX1", 8443),
            User = "alice",
            Scheme = PbxScheme.Ws,
            Phys = "berlin",
            AttemptTimeout = TimeSpan.FromSeconds(7),
            BackoffInitial = TimeSpan.FromMilliseconds(250),
            BackoffMax = TimeSpan.FromMinutes(1),
            BackoffJitter = false,
            MinStableConnection = TimeSpan.FromSeconds(5),
            ReconnectJitter = TimeSpan.FromSeconds(3),
            StaggerDelay = TimeSpan.FromMilliseconds(400),
            MaxRedirectHops = 3,
        });
        manager.Invoking(m => m.Validate()).Should().NotThrow();
    }

    [Fact]
    public void Defaults_MatchTheLibrary()
    {
        var o = new RedundancyServiceOptions { Primary = "pbx.example.com/PBX0", User = "alice", Password = "pw" };
        var time = TimeProvider.System;

        var transport = RedundancyServiceFactory.ToTransportOptions(o, null, time);
        var manager = RedundancyServiceFactory.ToManagerOptions(o, PbxAddress.Parse(o.Primary), new NeverTransport(), null, null, time);

        transport.Should().Be(new MyAppsTransportOptions { Username = "alice", Password = "pw", TimeProvider = time });
        manager.Should().Be(new RedundancyOptions { Primary = manager.Primary, Transport = manager.Transport, User = "alice", TimeProvider = time });
        o.TrustedCertificateThumbprints.Should().BeEmpty();
        o.PersistState.Should().BeTrue("the hosted service keeps its record in a file unless told not to");
        o.StateFile.Should().BeNull();
        o.StateDirectory.Should().BeNull();
        RedundancyServiceFactory.StatePath(o, PbxAddress.Parse(o.Primary)).Should()
            .Be(JsonFileRedundancyStore.GetDefaultPath(PbxAddress.Parse(o.Primary), "alice"), "one file per primary and user in the user's data folder");
    }

    [Fact]
    public void ConfigureTransport_AdjustsTheBuiltInTransportOptions()
    {
        var codes = new List<int>();
        var o = new RedundancyServiceOptions
        {
            Primary = "pbx.example.com/PBX0",
            User = "alice",
            Password = "pw",
            ConfigureTransport = t => t with { OnAuthorize = codes.Add },
        };

        var transport = RedundancyServiceFactory.ToTransportOptions(o, null, TimeProvider.System);

        transport.OnAuthorize.Should().NotBeNull();
        transport.OnAuthorize!(42);
        codes.Should().Equal(42);
    }

    [Theory]
    [InlineData(Thumbprint, Thumbprint)]
    [InlineData("00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff", Thumbprint)]
    [InlineData("0011223344556677 8899aabbccddeeff 0011223344556677 8899aabbccddeeff", Thumbprint)]
    [InlineData("00112233", null)]
    [InlineData("0011223344556677889XAABBCCDDEEFF00112233445566778899AABBCCDDEEFF", null)]
    public void Thumbprint_Normalize_AcceptsSha256HexOnly(string given, string? expected) =>
        CertificateThumbprints.Normalize(given).Should().Be(expected);

    [Fact]
    public void Thumbprint_Validator_AcceptsThePinnedCertificateDespitePolicyErrors()
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new CertificateRequest("CN=pbx.example.com", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var pinned = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var other = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddDays(2));
        var sha256 = Convert.ToHexString(pinned.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256));

        var validate = CertificateThumbprints.CreateValidator([sha256.ToLower(CultureInfo.InvariantCulture)])!;

        validate(this, pinned, null, System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors).Should().BeTrue();
        validate(this, other, null, System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors).Should().BeFalse();
        validate(this, other, null, System.Net.Security.SslPolicyErrors.None).Should().BeTrue("what the platform trusts stays trusted");
        CertificateThumbprints.CreateValidator([]).Should().BeNull("nothing listed leaves the platform's validation alone");
    }

    private sealed class NeverTransport : IPbxTransport
    {
        public ValueTask<LoginOutcome> ConnectAsync(PbxLoginRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("not connected in these tests");
    }
}
