using FluentAssertions;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Transport;

public sealed class MyAppsTransportOptionsTests
{
    private static readonly MyAppsTransportOptions Valid = new() { Username = "alice", Password = "s3cr3t-pw" };

    [Fact]
    public void Defaults_AreTheDocumentedValues()
    {
        var o = new MyAppsTransportOptions();

        o.UserAgent.Should().Be("Innovaphone.Redundancy");
        o.PathTemplate.Should().Be("/{module}/APPCLIENT/{build}/websocket");
        o.Build.Should().Be(130000);
        o.AllowInsecure.Should().BeFalse();
        o.MaxFrameBytes.Should().Be(1024 * 1024);
        o.KeepAliveInterval.Should().Be(TimeSpan.FromSeconds(7));
        o.KeepAliveTimeout.Should().Be(TimeSpan.FromSeconds(4));
        o.VerifyTimeout.Should().Be(TimeSpan.FromSeconds(1.5));
        o.SignInTimeout.Should().Be(TimeSpan.FromMinutes(5));
        o.AllowSingleSignOn.Should().BeFalse();
        o.OnSignIn.Should().BeNull();
        o.CloseTimeout.Should().Be(TimeSpan.FromSeconds(2));
        o.TimeProvider.Should().BeNull();
        o.RandomSource.Should().BeNull();
    }

    [Fact]
    public void ToString_WithPasswordAndSession_ShowsNoSecret()
    {
        var options = Valid with { InitialSession = new MyAppsSession("the-session-id", "the-session-pw") };

        var text = options.ToString();

        text.Should().Contain("alice").And.Contain("Password = ***");
        text.Should().NotContainAny("s3cr3t-pw", "the-session-id", "the-session-pw");
    }

    [Fact]
    public void Session_ToString_ShowsNoSecret()
    {
        new MyAppsSession("the-session-id", "the-session-pw").ToString().Should().NotContainAny("the-session-id", "the-session-pw");
    }

    [Theory]
    [InlineData("Username")]
    [InlineData("Password")]
    [InlineData("PathTemplate")]
    [InlineData("MaxFrameBytes")]
    [InlineData("LoginTimeout")]
    [InlineData("KeepAliveTimeout")]
    [InlineData("SignInTimeout")]
    [InlineData("OnSignIn")]
    [InlineData("VerifyTimeout")]
    [InlineData("VerifyTimeout ")]
    public void Constructor_InvalidOption_ThrowsNamingItWithoutSecrets(string option)
    {
        var options = option switch
        {
            "Username" => Valid with { Username = " " },
            "SignInTimeout" => Valid with { SignInTimeout = TimeSpan.Zero },
            "OnSignIn" => Valid with { AllowSingleSignOn = true },
            "Password" => Valid with { Password = null },
            "PathTemplate" => Valid with { PathTemplate = "no-slash" },
            "MaxFrameBytes" => Valid with { MaxFrameBytes = 10 },
            "LoginTimeout" => Valid with { LoginTimeout = TimeSpan.Zero },
            "VerifyTimeout" => Valid with { VerifyTimeout = TimeSpan.FromMilliseconds(9) },
            "VerifyTimeout " => Valid with { VerifyTimeout = TimeSpan.FromSeconds(61) },
            _ => Valid with { KeepAliveTimeout = TimeSpan.FromSeconds(-3) },
        };

        var act = () => new MyAppsWebSocketTransport(options);

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain(option.Trim()).And.NotContain("s3cr3t-pw");
    }

    [Fact]
    public void Constructor_SingleSignOnWithoutUsernameOrPassword_IsValid()
    {
        var act = () => new MyAppsWebSocketTransport(new MyAppsTransportOptions { AllowSingleSignOn = true, OnSignIn = _ => { } });

        act.Should().NotThrow();
    }

    [Fact]
    public void Constructor_PasswordWithoutUsername_IsInvalidEvenWithSingleSignOn()
    {
        var act = () => new MyAppsWebSocketTransport(Valid with { Username = string.Empty, AllowSingleSignOn = true, OnSignIn = _ => { } });

        act.Should().Throw<ArgumentException>().Which.ParamName.Should().Be("Username");
    }

    [Fact]
    public void Constructor_SessionWithoutPassword_IsValid()
    {
        var act = () => new MyAppsWebSocketTransport(Valid with { Password = null, InitialSession = new MyAppsSession("i", "p") });

        act.Should().NotThrow();
    }

    [Theory]
    [InlineData("master.example.com/PBX0", PbxScheme.Wss, "wss://master.example.com/PBX0/APPCLIENT/130000/websocket")]
    [InlineData("127.0.0.2:8443/PBX1", PbxScheme.Wss, "wss://127.0.0.2:8443/PBX1/APPCLIENT/130000/websocket")]
    [InlineData("127.0.0.1:8080/PBX0", PbxScheme.Ws, "ws://127.0.0.1:8080/PBX0/APPCLIENT/130000/websocket")]
    [InlineData("[::1]:8443/PBX0", PbxScheme.Wss, "wss://[::1]:8443/PBX0/APPCLIENT/130000/websocket")]
    public void BuildUri_Address_FollowsTemplate(string pbx, PbxScheme scheme, string expected)
    {
        var transport = new MyAppsWebSocketTransport(Valid);

        transport.BuildUri(PbxAddress.Parse(pbx), scheme).Should().Be(new Uri(expected));
    }

    [Fact]
    public void BuildUri_CustomTemplateAndBuild_AreApplied()
    {
        var transport = new MyAppsWebSocketTransport(Valid with { PathTemplate = "/x/{module}/{build}", Build = 1601 });

        transport.BuildUri(PbxAddress.Parse("h/PBX0"), PbxScheme.Wss).AbsoluteUri.Should().Be("wss://h/x/PBX0/1601");
    }
}
