using FluentAssertions;
using Innovaphone.Redundancy.Hosting;
using Innovaphone.Redundancy.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Hosting;

public sealed class RedundancyServiceValidationTests
{
    private const string Secret = "Va1idation-Secret";

    private static readonly (string Key, string? Value)[] Valid =
    [
        ("Primary", "pbx.example.com/PBX0"),
        ("User", "alice"),
        ("Password", Secret),
    ];

    [Theory]
    [InlineData("Primary", null, "Innovaphone:Redundancy:Primary is required")]
    [InlineData("Primary", "pbx.example.com/PBX 0", "Innovaphone:Redundancy:Primary: 'pbx.example.com/PBX 0' is not a PBX")]
    [InlineData("Primary", "ftp://pbx.example.com/PBX0", "Innovaphone:Redundancy:Primary: 'ftp://pbx.example.com/PBX0' is not a PBX: the scheme 'ftp'")]
    [InlineData("Primary", "http://pbx.example.com/PBX0/APPCLIENT/130000/index.htm", "Innovaphone:Redundancy:Primary is an http:// URL (plain text): set Innovaphone:Redundancy:AllowInsecure to true")]
    [InlineData("User", null, "Innovaphone:Redundancy:User is required")]
    [InlineData("Password", null, "Innovaphone:Redundancy:Password is required")]
    [InlineData("InitialSession:Id", "only-the-id", "Innovaphone:Redundancy:InitialSession:Id and Innovaphone:Redundancy:InitialSession:Password go together")]
    [InlineData("Scheme", "Ws", "Innovaphone:Redundancy:Scheme is Ws (plain text): set Innovaphone:Redundancy:AllowInsecure to true")]
    [InlineData("AttemptTimeout", "00:00:00", "Innovaphone:Redundancy:AttemptTimeout must be between")]
    [InlineData("BackoffInitial", "02:00:00", "Innovaphone:Redundancy:BackoffInitial must be between")]
    [InlineData("BackoffMax", "00:00:00.5", "Innovaphone:Redundancy:BackoffMax must be between")]
    [InlineData("MinStableConnection", "-00:00:01", "Innovaphone:Redundancy:MinStableConnection must be between")]
    [InlineData("ReconnectJitter", "00:11:00", "Innovaphone:Redundancy:ReconnectJitter must be between")]
    [InlineData("MaxRedirectHops", "33", "Innovaphone:Redundancy:MaxRedirectHops must be between 0 and 32")]
    [InlineData("UserAgent", " ", "Innovaphone:Redundancy:UserAgent must not be empty")]
    [InlineData("PathTemplate", "APPCLIENT/websocket", "Innovaphone:Redundancy:PathTemplate must start with '/'")]
    [InlineData("Build", "-1", "Innovaphone:Redundancy:Build must not be negative")]
    [InlineData("MaxFrameBytes", "100", "Innovaphone:Redundancy:MaxFrameBytes must be at least 1024")]
    [InlineData("KeepAliveInterval", "-00:00:01", "Innovaphone:Redundancy:KeepAliveInterval must not be negative")]
    [InlineData("KeepAliveTimeout", "00:00:00", "Innovaphone:Redundancy:KeepAliveTimeout must be positive")]
    [InlineData("ConnectTimeout", "00:00:00", "Innovaphone:Redundancy:ConnectTimeout must be positive")]
    [InlineData("LoginTimeout", "00:00:00", "Innovaphone:Redundancy:LoginTimeout must be positive")]
    [InlineData("SignInTimeout", "00:00:00", "Innovaphone:Redundancy:SignInTimeout must be positive")]
    [InlineData("CloseTimeout", "00:00:00", "Innovaphone:Redundancy:CloseTimeout must be positive")]
    [InlineData("TrustedCertificateThumbprints:0", "AB:CD", "Innovaphone:Redundancy:TrustedCertificateThumbprints:0 is not a SHA-256 thumbprint")]
    public async Task StartAsync_InvalidSetting_FailsNamingTheKey(string key, string? value, string expected)
    {
        var settings = HostingRig.Settings([.. Valid.Where(v => v.Key != key), (key, value)]);
        using var host = HostingRig.Build(settings);

        var failure = await FluentActions.Awaiting(() => host.StartAsync(TestContext.Current.CancellationToken))
            .Should().ThrowAsync<OptionsValidationException>();

        failure.Which.Message.Should().Contain(expected);
        failure.Which.Failures.Should().ContainSingle("only {0} is wrong", key);
        failure.Which.Message.Should().NotContain(Secret);
    }

    [Fact]
    public void PersistState_WithoutAnyFolderForTheFile_FailsNamingTheWayOut()
    {
        var noHome = new RedundancyServiceValidatorFor(defaultDirectory: null);
        var options = new RedundancyServiceOptions { Primary = "pbx.example.com", User = "alice", ConfigureTransport = t => t with { Password = Secret } };

        var result = noHome.Validate(options);

        result.Failed.Should().BeTrue();
        result.FailureMessage.Should().Contain("no per-user data folder").And.Contain("StateDirectory").And.Contain("PersistState");
        noHome.Validate(new RedundancyServiceOptions { Primary = "pbx.example.com", User = "alice", ConfigureTransport = t => t with { Password = Secret }, StateDirectory = "/var/lib/app" })
            .Succeeded.Should().BeTrue("a folder is given");
        noHome.Validate(new RedundancyServiceOptions { Primary = "pbx.example.com", User = "alice", ConfigureTransport = t => t with { Password = Secret }, PersistState = false })
            .Succeeded.Should().BeTrue("the state is kept in memory");
        new RedundancyServiceValidatorFor(defaultDirectory: "/home/alice/.local/share").Validate(options).Succeeded.Should().BeTrue();
    }

    [Fact]
    public void Options_ValidSettings_PassValidation()
    {
        // The options are validated when first read, as ValidateOnStart does at start; no socket is opened.
        using var host = HostingRig.Build(HostingRig.Settings([.. Valid, ("ConnectTimeout", "00:00:01")]));

        host.Services.GetRequiredService<IOptions<RedundancyServiceOptions>>().Value.User.Should().Be("alice");
        host.Services.GetRequiredService<RedundancyManager>().State.Should().Be(RedundancyState.Idle, "made from valid options, not started");
    }

    [Fact]
    public async Task StartAsync_SeveralInvalidSettings_ListsEveryKey()
    {
        // The library's rules report the first bad setting of each options type: here the manager's and the transport's.
        using var host = HostingRig.Build(HostingRig.Settings(("Password", Secret), ("MaxFrameBytes", "1"), ("AttemptTimeout", "00:00:00"), ("TrustedCertificateThumbprints:0", "AB")));

        var failure = await FluentActions.Awaiting(() => host.StartAsync(TestContext.Current.CancellationToken))
            .Should().ThrowAsync<OptionsValidationException>();

        failure.Which.Failures.Should().HaveCount(4);
        failure.Which.Message.Should().Contain("Innovaphone:Redundancy:Primary").And.Contain("Innovaphone:Redundancy:User")
            .And.Contain("Innovaphone:Redundancy:AttemptTimeout").And.Contain("Innovaphone:Redundancy:TrustedCertificateThumbprints:0").And.NotContain(Secret);
    }

    [Fact]
    public void AddInnovaphoneRedundancy_Twice_ThrowsAndLeavesTheFirstRegistrationAsItWas()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(HostingRig.Settings(Valid));
        builder.Services.AddInnovaphoneRedundancy(builder.Configuration.GetSection(HostingRig.Section));
        var registered = builder.Services.Count;

        FluentActions.Invoking(() => builder.Services.AddInnovaphoneRedundancy(o => o.User = "bob"))
            .Should().Throw<InvalidOperationException>()
            .WithMessage("AddInnovaphoneRedundancy was already called*Configure<RedundancyServiceOptions>*");
        FluentActions.Invoking(() => builder.Services.AddInnovaphoneRedundancy(builder.Configuration.GetSection("Other")))
            .Should().Throw<InvalidOperationException>();

        builder.Services.Should().HaveCount(registered, "a refused registration adds nothing");
        using var host = builder.Build();
        host.Services.GetRequiredService<IOptions<RedundancyServiceOptions>>().Value.User.Should().Be("alice");
        host.Services.GetRequiredService<RedundancyManager>().Should().NotBeNull("the first registration works as it was");
    }

    [Fact]
    public async Task StartAsync_ConfiguredInCode_NamesTheProperty()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddInnovaphoneRedundancy(o => o.User = "alice");
        using var host = builder.Build();

        var failure = await FluentActions.Awaiting(() => host.StartAsync(TestContext.Current.CancellationToken))
            .Should().ThrowAsync<OptionsValidationException>();

        // In code the password is the transport's setting (set through ConfigureTransport): the message names it so.
        failure.Which.Message.Should().Contain("RedundancyServiceOptions.Primary is required").And.Contain("MyAppsTransportOptions.Password is required");
    }

    [Fact]
    public async Task StartAsync_BoundFromTheRoot_NamesTheBareKey()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddInnovaphoneRedundancy(builder.Configuration);
        using var host = builder.Build();

        var failure = await FluentActions.Awaiting(() => host.StartAsync(TestContext.Current.CancellationToken))
            .Should().ThrowAsync<OptionsValidationException>();

        failure.Which.Failures.Should().Contain(f => f.StartsWith("Primary is required", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StartAsync_CustomTransport_NeedsNeitherUserNorPasswordNorTransportSettings()
    {
        using var sim = new SimulatedPbxSystem();
        var master = sim.AddMaster("master.example.com");
        sim.AddUser("bob", "pw-bob", master);
        using var host = HostingRig.Build(
            HostingRig.Settings(("Primary", master.Address.ToString()), ("Scheme", "Ws"), ("MaxFrameBytes", "1")),
            services => services.AddSingleton(sim.CreateTransport("bob", "pw-bob")));

        await host.StartAsync(TestContext.Current.CancellationToken);
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task StartAsync_CustomTransport_StillChecksTheManagerSettings()
    {
        using var sim = new SimulatedPbxSystem();
        using var host = HostingRig.Build(
            HostingRig.Settings(("Primary", "master.example.com/PBX0"), ("BackoffInitial", "00:00:00")),
            services => services.AddSingleton<IPbxTransport>(sim.CreateTransport("bob", "pw-bob")));

        var failure = await FluentActions.Awaiting(() => host.StartAsync(TestContext.Current.CancellationToken))
            .Should().ThrowAsync<OptionsValidationException>();

        failure.Which.Failures.Should().ContainSingle().Which.Should().StartWith("Innovaphone:Redundancy:BackoffInitial must be between");
    }

    /// <summary>The validator as registered for code-configured options, with the per-user data folder given.</summary>
    private sealed class RedundancyServiceValidatorFor(string? defaultDirectory)
    {
        private readonly RedundancyServiceOptionsValidator _inner = new(null, static () => false, static () => false, () => defaultDirectory);

        public ValidateOptionsResult Validate(RedundancyServiceOptions options) => _inner.Validate(null, options);
    }
}
