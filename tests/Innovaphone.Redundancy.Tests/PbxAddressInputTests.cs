using System.Text;
using FluentAssertions;
using Innovaphone.Redundancy.Hosting;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

namespace Innovaphone.Redundancy.Tests;

/// <summary>
/// R1: the primary as users have it (issue 11, point 5): the myApps URL from the browser, a bare host, host:port,
/// host[:port]/module, IPv6 literals; the scheme's default port normalised away wherever the scheme is known.
/// </summary>
public sealed class PbxAddressInputTests
{
    [Theory]
    // the myApps URL as copied from the browser: host, port, module, scheme
    [InlineData("https://pbx.example.com/PBX0/APPCLIENT/130000/index.htm", PbxScheme.Ws, "pbx.example.com/PBX0", PbxScheme.Wss)]
    [InlineData("https://PBX.Example.com:8443/PBX1/APPCLIENT/130000/index.htm?lang=de#x", PbxScheme.Wss, "pbx.example.com:8443/PBX1", PbxScheme.Wss)]
    [InlineData("https://pbx.example.com:443/PBX0/", PbxScheme.Wss, "pbx.example.com/PBX0", PbxScheme.Wss)]
    [InlineData("https://pbx.example.com", PbxScheme.Wss, "pbx.example.com/PBX0", PbxScheme.Wss)]
    [InlineData("http://pbx.example.com/PBX0/APPCLIENT/130000/index.htm", PbxScheme.Wss, "pbx.example.com/PBX0", PbxScheme.Ws)]
    [InlineData("http://pbx.example.com:80/PBX0", PbxScheme.Wss, "pbx.example.com/PBX0", PbxScheme.Ws)]
    [InlineData("http://pbx.example.com:443/PBX0", PbxScheme.Wss, "pbx.example.com:443/PBX0", PbxScheme.Ws)]
    [InlineData("wss://pbx.example.com:443/PBX0", PbxScheme.Ws, "pbx.example.com/PBX0", PbxScheme.Wss)]
    [InlineData("ws://pbx.example.com:8080/PBX0", PbxScheme.Wss, "pbx.example.com:8080/PBX0", PbxScheme.Ws)]
    [InlineData("https://[2001:DB8::1]:8443/PBX0/APPCLIENT/130000/index.htm", PbxScheme.Wss, "[2001:db8::1]:8443/PBX0", PbxScheme.Wss)]
    // a bare host, host:port, host[:port]/module: the scheme is the assumed one
    [InlineData("pbx.example.com", PbxScheme.Wss, "pbx.example.com/PBX0", PbxScheme.Wss)]
    [InlineData("  pbx.example.com  ", PbxScheme.Wss, "pbx.example.com/PBX0", PbxScheme.Wss)]
    [InlineData("pbx.example.com:8443", PbxScheme.Wss, "pbx.example.com:8443/PBX0", PbxScheme.Wss)]
    [InlineData("pbx.example.com:443", PbxScheme.Wss, "pbx.example.com/PBX0", PbxScheme.Wss)]
    [InlineData("pbx.example.com:443/PBX0", PbxScheme.Wss, "pbx.example.com/PBX0", PbxScheme.Wss)]
    [InlineData("pbx.example.com:443/PBX0", PbxScheme.Ws, "pbx.example.com:443/PBX0", PbxScheme.Ws)]
    [InlineData("pbx.example.com:80/PBX2", PbxScheme.Ws, "pbx.example.com/PBX2", PbxScheme.Ws)]
    [InlineData("pbx.example.com/PBX1", PbxScheme.Wss, "pbx.example.com/PBX1", PbxScheme.Wss)]
    // IPv6: bracketed with and without port and module, bare without port, canonical text
    [InlineData("[2001:db8::1]", PbxScheme.Wss, "[2001:db8::1]/PBX0", PbxScheme.Wss)]
    [InlineData("[2001:DB8:0:0::1]:8443/PBX1", PbxScheme.Wss, "[2001:db8::1]:8443/PBX1", PbxScheme.Wss)]
    [InlineData("2001:db8::1", PbxScheme.Wss, "[2001:db8::1]/PBX0", PbxScheme.Wss)]
    [InlineData("::1/PBX3", PbxScheme.Wss, "[::1]/PBX3", PbxScheme.Wss)]
    [InlineData("127.0.0.2:8443/PBX0", PbxScheme.Wss, "127.0.0.2:8443/PBX0", PbxScheme.Wss)]
    public void R1_TryParseInput_AcceptedForm_GivesAddressAndScheme(string text, PbxScheme assumed, string expected, PbxScheme expectedScheme)
    {
        PbxAddress.TryParseInput(text, assumed, out var address, out var scheme, out var error).Should().BeTrue(error);

        address.Should().Be(PbxAddress.Parse(expected));
        address!.ToString().Should().Be(expected);
        scheme.Should().Be(expectedScheme);
        error.Should().BeNull();
    }

    [Theory]
    [InlineData("", "it is empty")]
    [InlineData("   ", "it is empty")]
    [InlineData("ftp://pbx.example.com/PBX0", "the scheme 'ftp'")]
    [InlineData("https://alice:pw@pbx.example.com/PBX0", "no user name or password")]
    [InlineData("https://pbx.example.com/PBX%200/APPCLIENT", "not a PBX module name")]
    [InlineData("https://", "not a valid URL")]
    [InlineData("pbx.example.com:99999", "not a port")]
    [InlineData("pbx.example.com:x/PBX0", "not a port")]
    [InlineData("pbx.example.com/PBX0/extra", "not a module name")]
    [InlineData("pbx example.com", "not a valid host name")]
    [InlineData("user@pbx.example.com/PBX0", "not a valid host name")]
    [InlineData("2001:db8::zz", "neither host:port nor an IPv6 address")]
    [InlineData("[2001:db8::1", "not a valid host name")]
    public void R1_TryParseInput_OtherText_FailsQuotingItAndTheAcceptedForms(string text, string reason)
    {
        PbxAddress.TryParseInput(text, PbxScheme.Wss, out var address, out var scheme, out var error).Should().BeFalse();

        address.Should().BeNull();
        scheme.Should().Be(PbxScheme.Wss, "a failed parse leaves the assumed scheme");
        error.Should().Contain($"'{text}'").And.Contain(reason).And.Contain("accepted: the myApps URL from the browser")
            .And.Contain("host, host:port, host[:port]/module");
    }

    [Fact]
    public void R1_ParseInput_OtherText_ThrowsFormatExceptionWithTheSameMessage()
    {
        var parse = () => PbxAddress.ParseInput("pbx.example.com/PBX 0", PbxScheme.Wss, out _);

        parse.Should().Throw<FormatException>().WithMessage("'pbx.example.com/PBX 0' is not a PBX: *accepted: *");
    }

    [Theory]
    [InlineData("https://pbx.example.com/PBX0/APPCLIENT/130000/index.htm", true, "pbx.example.com/PBX0", PbxScheme.Wss)]
    [InlineData("http://pbx.example.com:8080", true, "pbx.example.com:8080/PBX0", PbxScheme.Ws)]
    [InlineData("pbx.example.com/PBX0", false, null, PbxScheme.Wss)]
    [InlineData("mailto:alice@example.com", false, null, PbxScheme.Wss)]
    public void R1_TryParseUrl_TakesUrlsOnly(string url, bool ok, string? expected, PbxScheme expectedScheme)
    {
        PbxAddress.TryParseUrl(url, out var address, out var scheme).Should().Be(ok);

        address.Should().Be(expected is null ? null : PbxAddress.Parse(expected));
        if (ok)
        {
            scheme.Should().Be(expectedScheme);
        }
    }

    [Theory]
    [InlineData("pbx:443/PBX0", PbxScheme.Wss, "pbx/PBX0")]
    [InlineData("pbx:80/PBX0", PbxScheme.Wss, "pbx:80/PBX0")]
    [InlineData("pbx:80/PBX0", PbxScheme.Ws, "pbx/PBX0")]
    [InlineData("pbx/PBX0", PbxScheme.Wss, "pbx/PBX0")]
    public void R1_WithoutDefaultPort_DropsOnlyTheSchemesDefault(string text, PbxScheme scheme, string expected) =>
        PbxAddress.Parse(text).WithoutDefaultPort(scheme).Should().Be(PbxAddress.Parse(expected));

    [Fact]
    public void R1_Parse_StaysTheStrictConnInfoForm()
    {
        // connInfo, stored records and hints use host[:port]/module only; the lenient forms are for user input.
        PbxAddress.TryParse("pbx.example.com", out _).Should().BeFalse();
        FluentActions.Invoking(() => PbxAddress.Parse("https://pbx.example.com/PBX0")).Should().Throw<FormatException>().WithMessage("*TryParseUrl*");
    }

    [Theory]
    [InlineData(PbxScheme.Wss, "{\"alt\":\"standby.example.com:443/PBX0\",\"master\":\"master.example.com:443/PBX0\"}", "standby.example.com/PBX0", "master.example.com/PBX0")]
    [InlineData(PbxScheme.Ws, "{\"alt\":\"standby.example.com:80/PBX0\",\"master\":\"master.example.com:443/PBX0\"}", "standby.example.com/PBX0", "master.example.com:443/PBX0")]
    [InlineData(PbxScheme.Wss, "{\"alt\":\"[2001:DB8::5]:443/PBX0\"}", "[2001:db8::5]/PBX0", null)]
    public void R5_TopologyHints_DropTheSchemesDefaultPort(PbxScheme scheme, string info, string alt, string? master)
    {
        MyAppsLoginInfo.TryRead(Encoding.UTF8.GetBytes(info), scheme, [], out var read, out _, out _, out _).Should().BeTrue();

        read.Alternative.Should().Be(PbxAddress.Parse(alt));
        read.Master.Should().Be(master is null ? null : PbxAddress.Parse(master));
    }

    [Theory]
    [InlineData("https://pbx.example.com/PBX0/APPCLIENT/130000/index.htm", PbxScheme.Ws, PbxScheme.Wss)]
    [InlineData("http://pbx.example.com/PBX0", PbxScheme.Wss, PbxScheme.Ws)]
    [InlineData("pbx.example.com", PbxScheme.Ws, PbxScheme.Ws)]
    public void R1_Hosting_UrlAsPrimary_SetsTheScheme(string primary, PbxScheme configured, PbxScheme expected)
    {
        var options = new RedundancyServiceOptions
        {
            Primary = primary,
            Configuration = Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions
                .AddInMemoryCollection(new Microsoft.Extensions.Configuration.ConfigurationBuilder(), new Dictionary<string, string?> { ["Scheme"] = configured.ToString() }).Build(),
        };

        RedundancyServiceFactory.ToManagerOptions(options, new Testing.SimulatedPbxSystem(TimeProvider.System).CreateTransport("alice", "pw"), null, TimeProvider.System)
            .Scheme.Should().Be(expected);
    }
}
