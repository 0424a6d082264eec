using System.Text;
using FluentAssertions;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Transport;

/// <summary>Where a Redirect points (PROTOCOL.md: info.host, info.https/info.http, info.mod).</summary>
public sealed class RedirectTargetTests
{
    [Theory]
    // host only: current port and module are kept
    [InlineData("master.example.com/PBX0", PbxScheme.Wss, "{\"host\":\"slave.example.com\"}", "slave.example.com/PBX0")]
    [InlineData("master.example.com:8443/PBX3", PbxScheme.Wss, "{\"host\":\"slave.example.com\"}", "slave.example.com:8443/PBX3")]
    // module from mod
    [InlineData("master.example.com/PBX0", PbxScheme.Wss, "{\"host\":\"slave.example.com\",\"mod\":\"PBX1\"}", "slave.example.com/PBX1")]
    // port from https for wss, from http for ws; the other is ignored
    [InlineData("master.example.com/PBX0", PbxScheme.Wss, "{\"host\":\"slave\",\"https\":8443,\"http\":8080}", "slave:8443/PBX0")]
    [InlineData("master.example.com:81/PBX0", PbxScheme.Ws, "{\"host\":\"slave\",\"https\":8443,\"http\":8080}", "slave:8080/PBX0")]
    [InlineData("master.example.com:8443/PBX0", PbxScheme.Wss, "{\"host\":\"slave\",\"http\":8080}", "slave:8443/PBX0")]
    // numeric string port accepted
    [InlineData("master.example.com/PBX0", PbxScheme.Wss, "{\"host\":\"slave\",\"https\":\"9443\"}", "slave:9443/PBX0")]
    // host:port wins over https
    [InlineData("master.example.com/PBX0", PbxScheme.Wss, "{\"host\":\"127.0.0.2:7443\",\"https\":8443}", "127.0.0.2:7443/PBX0")]
    // the scheme's default port stays implicit
    [InlineData("master.example.com:8443/PBX0", PbxScheme.Wss, "{\"host\":\"slave\",\"https\":443}", "slave/PBX0")]
    [InlineData("master.example.com:8080/PBX0", PbxScheme.Ws, "{\"host\":\"slave:80\"}", "slave/PBX0")]
    // IPv6 and upper case
    [InlineData("master.example.com/PBX0", PbxScheme.Wss, "{\"host\":\"[::1]:8443\"}", "[::1]:8443/PBX0")]
    // IPv6: bracketed without port, bare (no port: its last group is not a port), canonical text; https 443 implicit
    [InlineData("master.example.com/PBX0", PbxScheme.Wss, "{\"host\":\"[2001:DB8:0::1]\",\"https\":443}", "[2001:db8::1]/PBX0")]
    [InlineData("master.example.com/PBX0", PbxScheme.Wss, "{\"host\":\"2001:db8::1\"}", "[2001:db8::1]/PBX0")]
    [InlineData("master.example.com/PBX0", PbxScheme.Wss, "{\"host\":\"2001:db8::1\",\"https\":8443}", "[2001:db8::1]:8443/PBX0")]
    [InlineData("master.example.com/PBX0", PbxScheme.Wss, "{\"host\":\"Slave.Example.COM\",\"mod\":\"\"}", "slave.example.com/PBX0")]
    public void TryResolveRedirectTarget_Valid_ResolvesTarget(string current, PbxScheme scheme, string info, string expected)
    {
        MyAppsLoginInfo.TryResolveRedirectTarget(PbxAddress.Parse(current), scheme, Encoding.UTF8.GetBytes(info), out var target, out var problem)
            .Should().BeTrue(problem);

        target.Should().Be(PbxAddress.Parse(expected));
    }

    [Theory]
    [InlineData("{}", "info.host")]
    [InlineData("{\"host\":\"\"}", "info.host")]
    [InlineData("{\"host\":5}", "info.host")]
    [InlineData("{\"host\":\"bad host\"}", "not a host")]
    [InlineData("{\"host\":\"slave/PBX1\"}", "not a host")]
    [InlineData("{\"host\":\"slave:0\"}", "not a host")]
    [InlineData("{\"host\":\"2001:db8::zz\"}", "not a host")]
    [InlineData("{\"host\":\"fe80::1%eth0\"}", "not a host")]
    [InlineData("{\"host\":\"slave\",\"https\":0}", "info.https")]
    [InlineData("{\"host\":\"slave\",\"https\":70000}", "info.https")]
    [InlineData("{\"host\":\"slave\",\"https\":true}", "info.https")]
    [InlineData("{\"host\":\"slave\",\"mod\":\"PBX 1\"}", "info.mod")]
    public void TryResolveRedirectTarget_Invalid_Fails(string info, string problemPart)
    {
        MyAppsLoginInfo.TryResolveRedirectTarget(PbxAddress.Parse("master/PBX0"), PbxScheme.Wss, Encoding.UTF8.GetBytes(info), out var target, out var problem)
            .Should().BeFalse();

        target.Should().BeNull();
        problem.Should().Contain(problemPart);
    }
}
