using System.Text;
using FluentAssertions;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Transport;

public sealed class MyAppsFrameTests
{
    private static MyAppsFrame Parse(string json)
    {
        MyAppsFrame.TryParse(Encoding.UTF8.GetBytes(json), out var frame, out var error).Should().BeTrue(error);
        return frame!;
    }

    private static string ParseError(string json)
    {
        MyAppsFrame.TryParse(Encoding.UTF8.GetBytes(json), out _, out var error).Should().BeFalse();
        return error!;
    }

    [Fact]
    public void TryParse_Info_KeepsRawBytesWithWhitespaceAndEscapes()
    {
        const string Info = "{ \"alt\" : \"a/PBX0\",\n \"x\":\"\\u00e4\\\"q\", \"n\":[1, {\"d\":2.50}] }";
        var frame = Parse("{\"mt\":\"LoginResult\",  \"info\":" + Info + " ,\"digest\":\"ab\"}");

        Encoding.UTF8.GetString(frame.RawInfo!.Value.Span).Should().Be(Info);
        frame.Mt.Should().Be("LoginResult");
        frame.Digest.Should().Be("ab");
    }

    [Fact]
    public void TryParse_InfoWithRawUtf8_KeepsBytes()
    {
        const string Info = "{\"name\":\"Jürgen\"}";
        var frame = Parse("{\"info\":" + Info + ",\"mt\":\"LoginResult\"}");

        frame.RawInfo!.Value.ToArray().Should().Equal(Encoding.UTF8.GetBytes(Info));
    }

    [Fact]
    public void TryParse_Authenticate_ReadsAllFields()
    {
        var frame = Parse("{\"mt\":\"Authenticate\",\"type\":\"user\",\"method\":\"digest\",\"domain\":\"example.com\",\"challenge\":\"c0ffee\",\"extra\":{\"a\":[1,2]}}");

        frame.Mt.Should().Be("Authenticate");
        frame.Type.Should().Be("user");
        frame.Method.Should().Be("digest");
        frame.Domain.Should().Be("example.com");
        frame.Challenge.Should().Be("c0ffee");
        frame.RawInfo.Should().BeNull();
    }

    [Fact]
    public void TryParse_FailedLoginResult_ReadsErrorAndText()
    {
        var frame = Parse("{\"mt\":\"LoginResult\",\"error\":5,\"errorText\":\"Session expired\"}");

        frame.Error.Should().Be(5);
        frame.ErrorText.Should().Be("Session expired");
    }

    [Fact]
    public void TryParse_Authorize_ReadsCode()
    {
        Parse("{\"mt\":\"Authorize\",\"code\":4711}").Code.Should().Be(4711);
    }

    [Theory]
    [InlineData("{\"mt\":\"Login\"", "malformed")]
    [InlineData("not json", "malformed")]
    [InlineData("[1]", "not a JSON object")]
    [InlineData("\"text\"", "not a JSON object")]
    [InlineData("{\"type\":\"user\"}", "no 'mt'")]
    [InlineData("{\"mt\":\"\"}", "no 'mt'")]
    [InlineData("{\"mt\":5}", "'mt' is not a string")]
    [InlineData("{\"mt\":\"LoginResult\",\"info\":\"x\"}", "'info' is not an object")]
    [InlineData("{\"mt\":\"LoginResult\",\"info\":{},\"info\":{}}", "appears twice")]
    [InlineData("{\"mt\":\"A\",\"mt\":\"B\"}", "appears twice")]
    [InlineData("{\"mt\":\"Authorize\",\"code\":\"12\"}", "not an integer")]
    [InlineData("{\"mt\":\"Authorize\",\"code\":1.5}", "not an integer")]
    [InlineData("{\"mt\":\"A\"} {\"mt\":\"B\"}", "malformed")]
    [InlineData("{\"mt\":\"A\",\"x\":{\"y\":}}", "malformed")]
    [InlineData("", "malformed")]
    public void TryParse_Invalid_FailsWithReason(string json, string reasonPart)
    {
        ParseError(json).Should().Contain(reasonPart);
    }

    [Theory]
    [InlineData("{\"mt\":\"StandbyBack\"}", "StandbyBack")]
    [InlineData("{\"x\":{\"mt\":\"no\"},\"mt\":\"LogoutResult\"}", "LogoutResult")]
    [InlineData("{\"x\":1}", null)]
    [InlineData("{\"mt\":1}", null)]
    [InlineData("garbage", null)]
    [InlineData("[]", null)]
    public void TryReadMt_VariousFrames_ReturnsTopLevelMt(string json, string? expected)
    {
        MyAppsFrame.TryReadMt(Encoding.UTF8.GetBytes(json)).Should().Be(expected);
    }

    [Fact]
    public void Login_FirstMessage_IsCompactWithoutCredentials()
    {
        Encoding.UTF8.GetString(MyAppsMessages.Login("user", "Agent/1.0"))
            .Should().Be("{\"mt\":\"Login\",\"type\":\"user\",\"userAgent\":\"Agent/1.0\"}");
    }

    [Fact]
    public void LoginDigest_SecondMessage_HasAllFieldsInOrder()
    {
        Encoding.UTF8.GetString(MyAppsMessages.LoginDigest("session", "id1", "0123456789abcdef", "ab12", "UA"))
            .Should().Be("{\"mt\":\"Login\",\"type\":\"session\",\"method\":\"digest\",\"username\":\"id1\",\"nonce\":\"0123456789abcdef\",\"response\":\"ab12\",\"userAgent\":\"UA\"}");
    }

    [Fact]
    public void LoginDigest_QuoteInName_IsEscaped()
    {
        var json = Encoding.UTF8.GetString(MyAppsMessages.LoginDigest("user", "a\"b", "n", "r", "UA"));

        System.Text.Json.JsonDocument.Parse(json).RootElement.GetProperty("username").GetString().Should().Be("a\"b");
    }
}
