using System.Text;
using FluentAssertions;
using Innovaphone.Redundancy.Tests.Transport;
using Innovaphone.Redundancy.Transport;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Fuzzing;

/// <summary>The defects the protocol fuzzing found, pinned as plain examples (independent of the fuzz seed).</summary>
public sealed class FuzzFindingsTests
{
    /// <summary>A user login that has sent its credential-less Login (LoginInfo answered).</summary>
    private static LoginDriver StartedDriver()
    {
        var driver = new LoginDriver(PbxAddress.Parse("master.example.com/PBX0"), PbxScheme.Wss, "alice", "secret", null, "UA", LoginDriverTests.PinnedRandom);
        driver.Start();
        driver.OnText(Encoding.UTF8.GetBytes(LoginDriverTests.LoginInfoResult()));
        return driver;
    }

    [Theory]
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'m', (byte)'t', (byte)'"', (byte)':', (byte)'"', 0xff, (byte)'"', (byte)'}' })]
    [InlineData(new byte[] { (byte)'{', (byte)'"', (byte)'m', (byte)'t', (byte)'"', (byte)':', (byte)'"', (byte)'\\', (byte)'u', (byte)'d', (byte)'c', (byte)'0', (byte)'0', (byte)'"', (byte)'}' })]
    public void TryReadMt_UndecodableMt_ReturnsNullInsteadOfThrowing(byte[] frame)
    {
        // Before the fix the InvalidOperationException ended a logged-in connection as a "socket error".
        MyAppsFrame.TryReadMt(frame).Should().BeNull();
    }

    [Theory]
    [InlineData("{\"host\":\"\\udc00\"}")]
    [InlineData("{\"host\":\"pbx.example.com\",\"https\":\"\\udc00\"}")]
    public void CredentialLessRedirect_UndecodableInfoString_FailsAsProtocolError(string info)
    {
        // Reachable by anyone on the path: this Redirect needs no digest.
        var step = StartedDriver().OnText(Encoding.UTF8.GetBytes($"{{\"mt\":\"Redirect\",\"info\":{info}}}"));

        step.Outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.ProtocolError);
    }

    [Fact]
    public void CredentialLessRedirect_UndecodableMod_KeepsTheCurrentModule()
    {
        // Like any unusable info.mod: ignored, the module stays.
        var step = StartedDriver().OnText("{\"mt\":\"Redirect\",\"info\":{\"host\":\"pbx.example.com\",\"mod\":\"\\ud800\"}}"u8.ToArray());

        step.Outcome.Should().Be(new Redirected(PbxAddress.Parse("pbx.example.com/PBX0"), PbxScheme.Wss));
    }

    [Fact]
    public void LoginResult_SignedInfoWithUndecodableStrings_LogsInIgnoringThem()
    {
        var driver = StartedDriver();
        driver.OnText(Encoding.UTF8.GetBytes(LoginDriverTests.Authenticate()));

        var step = driver.OnText(Encoding.UTF8.GetBytes(LoginDriverTests.LoginResult("{\"alt\":\"\\udc00\",\"session\":{\"usr\":\"\\ud800\",\"pwd\":\"00\"}}")));

        step.LoggedIn.Should().Be(PbxLoginInfo.None);
        step.LearnedSession.Should().BeNull();
    }

    [Fact]
    public void LoginResultError_HugeErrorText_IsBounded()
    {
        var frame = Encoding.UTF8.GetBytes($"{{\"mt\":\"LoginResult\",\"error\":1,\"errorText\":\"{new string('E', 100_000)}\"}}");
        var afterCredentials = StartedDriver();
        afterCredentials.OnText(Encoding.UTF8.GetBytes("{\"mt\":\"Authenticate\",\"type\":\"user\",\"method\":\"digest\",\"domain\":\"d\",\"challenge\":\"c\"}"));

        afterCredentials.OnText(frame).Outcome.Should().BeOfType<Rejected>().Which.Text.Length.Should().BeLessThanOrEqualTo(LoginDriver.MaxErrorTextLength + 3);
        StartedDriver().OnText(frame).Outcome.Should().BeOfType<AttemptFailed>().Which.Reason.Length.Should().BeLessThan(300, "the error to the credential-less Login is bounded too");
    }

    [Fact]
    public void CredentialLessRedirect_HugeInvalidHost_ReasonIsBounded()
    {
        var step = StartedDriver().OnText(Encoding.UTF8.GetBytes($"{{\"mt\":\"Redirect\",\"info\":{{\"host\":\"{new string('\\', 2 * 50_000)}\"}}}}"));

        step.Outcome.Should().BeOfType<AttemptFailed>().Which.Reason.Length.Should().BeLessThan(300);
    }

    [Fact]
    public void MalformedJson_LongInvalidLiteral_ReasonIsBounded()
    {
        var step = StartedDriver().OnText(Encoding.UTF8.GetBytes("{\"mt\":tr" + new string('x', 50_000) + "}"));

        step.Outcome.Should().BeOfType<AttemptFailed>().Which.Reason.Length.Should().BeLessThan(300);
    }
}
