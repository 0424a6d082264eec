using System.Globalization;
using System.Reflection;
using System.Security.Cryptography.X509Certificates;
using FluentAssertions;
using Innovaphone.Redundancy.Hosting;
using Innovaphone.Redundancy.Persistence;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Hosting;

public sealed class RedundancyServiceOptionsBindingTests
{
    private const string Thumbprint = "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF";

    /// <summary>
    /// A value other than the default for every configuration key: the service's own settings and every setting of
    /// <see cref="RedundancyOptions"/> and <see cref="MyAppsTransportOptions"/> of a type that configuration can carry.
    /// </summary>
    private static readonly Dictionary<string, string> EveryKey = new()
    {
        ["Primary"] = "pbx.example.com:8443/PBX1",
        ["User"] = "alice",
        ["TrustedCertificateThumbprints:0"] = "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
        ["PersistState"] = "false",
        ["StateFile"] = "/var/lib/app/redundancy.json",
        ["StateDirectory"] = "/var/lib/app",
        ["PersistSession"] = "true",
        ["SessionFile"] = "/var/lib/app/session.json",

        // RedundancyOptions
        ["Scheme"] = "Ws",
        ["Phys"] = "berlin",
        ["AttemptTimeout"] = "00:00:07",
        ["BackoffInitial"] = "00:00:00.250",
        ["BackoffMax"] = "00:01:00",
        ["BackoffJitter"] = "false",
        ["MinStableConnection"] = "00:00:05",
        ["ReconnectJitter"] = "00:00:03",
        ["StaggerDelay"] = "00:00:00.400",
        ["MaxRedirectHops"] = "3",
        ["WarmUp"] = "false",

        // MyAppsTransportOptions
        ["Username"] = "alice.sip",
        ["Password"] = "pw-binding",
        ["InitialSession:Id"] = "session-id",
        ["InitialSession:Password"] = "session-pw",
        ["AllowInsecure"] = "true",
        ["UserAgent"] = "MyService/1.0",
        ["PathTemplate"] = "/{module}/APPS/{build}/websocket",
        ["Build"] = "140000",
        ["MaxFrameBytes"] = "65536",
        ["KeepAliveInterval"] = "00:00:30",
        ["KeepAliveTimeout"] = "00:00:06",
        ["ConnectTimeout"] = "00:00:03",
        ["LoginTimeout"] = "00:00:04",
        ["SignInTimeout"] = "00:06:00",
        ["AllowSingleSignOn"] = "true",
        ["CloseTimeout"] = "00:00:01",
        ["VerifyTimeout"] = "00:00:00.800",
    };

    /// <summary>
    /// Settings that configuration cannot carry (objects, delegates, clocks), set in code: through
    /// <see cref="RedundancyServiceOptions.ConfigureManager"/>/<see cref="RedundancyServiceOptions.ConfigureTransport"/>, or by
    /// the service itself. Each is named in docs/hosting.md.
    /// </summary>
    private static readonly string[] CodeOnly =
    [
        "RedundancyOptions.Primary", // from the service's Primary, as users write it
        "RedundancyOptions.User", // from the service's User
        "RedundancyOptions.Transport", "RedundancyOptions.Randomizer", "RedundancyOptions.TimeProvider", "RedundancyOptions.LoggerFactory",
        "RedundancyOptions.MeterFactory", "RedundancyOptions.Store", "RedundancyOptions.NetworkChanges",
        "MyAppsTransportOptions.RemoteCertificateValidationCallback", // from TrustedCertificateThumbprints
        "MyAppsTransportOptions.OnAuthorize", "MyAppsTransportOptions.OnSignIn", "MyAppsTransportOptions.TimeProvider", "MyAppsTransportOptions.LoggerFactory",
        "MyAppsTransportOptions.SessionStore", // from PersistSession and SessionFile
        "RedundancyServiceOptions.ConfigureManager", "RedundancyServiceOptions.ConfigureTransport",
    ];

    private static readonly Type[] SettingsTypes = [typeof(RedundancyServiceOptions), typeof(RedundancyOptions), typeof(MyAppsTransportOptions)];

    [Fact]
    public void EveryKey_CoversEverySettingOnce()
    {
        // A new setting fails here until it is a key with a binding test below, or named as code only.
        var settings = SettingsTypes
            .SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.SetMethod?.IsPublic == true || p.PropertyType.IsAssignableTo(typeof(System.Collections.IEnumerable)) && p.PropertyType != typeof(string))
                .Select(p => $"{t.Name}.{p.Name}"))
            .ToList();
        var keys = EveryKey.Keys.Select(k => k.Split(':')[0]).Distinct().ToList();

        settings.Except(CodeOnly).Select(s => s.Split('.')[1]).Should().BeEquivalentTo(keys, "each setting is a configuration key, once");
        CodeOnly.Should().BeSubsetOf(settings, "the code-only list names settings that exist");
    }

    [Fact]
    public void Docs_NameEveryKeyAndEveryCodeOnlySetting()
    {
        var doc = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "hosting.md"));

        doc.Should().ContainAll(EveryKey.Keys.Select(k => $"`{k.Split(':')[0]}`"));
        doc.Should().ContainAll(CodeOnly.Select(c => $"`{c.Split('.')[1]}`"));
    }

    [Fact]
    public void Bind_EveryKey_ReachesTheOptionsThatUseIt()
    {
        using var host = HostingRig.Build(HostingRig.Settings([.. EveryKey.Select(kv => (kv.Key, (string?)kv.Value))]));
        var o = host.Services.GetRequiredService<IOptions<RedundancyServiceOptions>>().Value;
        var time = TimeProvider.System;

        var transport = RedundancyServiceFactory.ToTransportOptions(o, null, time);
        var manager = RedundancyServiceFactory.ToManagerOptions(o, new NeverTransport(), null, time);

        o.Primary.Should().Be("pbx.example.com:8443/PBX1");
        o.User.Should().Be("alice");
        o.TrustedCertificateThumbprints.Should().ContainSingle().Which.Should().StartWith("00:11:22");
        o.PersistState.Should().BeFalse();
        o.StateFile.Should().Be("/var/lib/app/redundancy.json");
        o.StateDirectory.Should().Be("/var/lib/app");
        o.PersistSession.Should().BeTrue();
        transport.SessionStore.Should().BeOfType<JsonFileMyAppsSessionStore>().Which.FilePath.Should().Be("/var/lib/app/session.json");
        transport.Should().BeEquivalentTo(new
        {
            Username = "alice.sip",
            Password = "pw-binding",
            InitialSession = new MyAppsSession("session-id", "session-pw"),
            UserAgent = "MyService/1.0",
            PathTemplate = "/{module}/APPS/{build}/websocket",
            Build = 140000,
            AllowInsecure = true,
            MaxFrameBytes = 65536,
            KeepAliveInterval = TimeSpan.FromSeconds(30),
            KeepAliveTimeout = TimeSpan.FromSeconds(6),
            ConnectTimeout = TimeSpan.FromSeconds(3),
            LoginTimeout = TimeSpan.FromSeconds(4),
            SignInTimeout = TimeSpan.FromMinutes(6),
            CloseTimeout = TimeSpan.FromSeconds(1),
            VerifyTimeout = TimeSpan.FromMilliseconds(800),
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
            WarmUp = false,
        });
        manager.Invoking(m => m.Validate()).Should().NotThrow();
        transport.Invoking(t => t.Validate()).Should().NotThrow("the service logs the sign-in URL (OnSignIn) for AllowSingleSignOn");
    }

    [Fact]
    public void Bind_EveryKey_SetsAValueOtherThanTheDefault()
    {
        // Each key's test value differs from the library's default, so the binding test above cannot pass by chance.
        var defaults = new Dictionary<string, object?>();
        var manager = new RedundancyOptions { Primary = new PbxAddress("pbx.example.com"), Transport = new NeverTransport() };
        var transport = new MyAppsTransportOptions();
        var service = new RedundancyServiceOptions();
        foreach (var (owner, instance) in new (Type, object)[] { (typeof(RedundancyOptions), manager), (typeof(MyAppsTransportOptions), transport), (typeof(RedundancyServiceOptions), service) })
        {
            foreach (var property in owner.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                defaults.TryAdd(property.Name, property.GetValue(instance));
            }
        }

        foreach (var (key, value) in EveryKey.Where(kv => !kv.Key.Contains(':', StringComparison.Ordinal)))
        {
            var current = defaults[key];
            var text = current switch
            {
                null => null,
                TimeSpan t => t.ToString("c", CultureInfo.InvariantCulture),
                bool b => b ? "true" : "false",
                _ => Convert.ToString(current, CultureInfo.InvariantCulture),
            };
            TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out var asTime);
            (text == value || (current is TimeSpan span && span == asTime)).Should().BeFalse("{0}'s test value must differ from its default", key);
        }
    }

    [Fact]
    public void Defaults_AreTheLibrarys()
    {
        var o = new RedundancyServiceOptions { Primary = "pbx.example.com/PBX0", User = "alice" };
        var time = TimeProvider.System;

        var transport = RedundancyServiceFactory.ToTransportOptions(o, null, time);
        var manager = RedundancyServiceFactory.ToManagerOptions(o, new NeverTransport(), null, time);

        transport.Should().Be(new MyAppsTransportOptions { Username = "alice", TimeProvider = time, OnSignIn = transport.OnSignIn });
        transport.OnSignIn.Should().NotBeNull("a service logs the sign-in URL (event 172) unless told otherwise");
        manager.Should().Be(new RedundancyOptions { Primary = manager.Primary, Transport = manager.Transport, User = "alice", TimeProvider = time });
        o.TrustedCertificateThumbprints.Should().BeEmpty();
        o.PersistState.Should().BeTrue("the hosted service keeps its record in a file unless told not to");
        o.StateFile.Should().BeNull();
        o.StateDirectory.Should().BeNull();
        RedundancyServiceFactory.StatePath(o, PbxAddress.Parse(o.Primary)).Should()
            .Be(JsonFileRedundancyStore.GetDefaultPath(PbxAddress.Parse(o.Primary), "alice"), "one file per primary and user in the user's data folder");
    }

    [Fact]
    public void ConfigureManager_AdjustsTheManagerOptionsAfterBinding()
    {
        var o = new RedundancyServiceOptions { Primary = "pbx.example.com/PBX0", ConfigureManager = m => m with { AttemptTimeout = TimeSpan.FromSeconds(3) } };

        RedundancyServiceFactory.ToManagerOptions(o, new NeverTransport(), null, TimeProvider.System).AttemptTimeout.Should().Be(TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void ConfigureTransport_AdjustsTheBuiltInTransportOptions()
    {
        var codes = new List<int>();
        var o = new RedundancyServiceOptions
        {
            Primary = "pbx.example.com/PBX0",
            User = "alice",
            ConfigureTransport = t => t with { Password = "pw", OnAuthorize = codes.Add },
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
