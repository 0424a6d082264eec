using System.Text;
using FluentAssertions;
using Innovaphone.Redundancy.Tests.Transport;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Fuzzing;

/// <summary>The defects the protocol fuzzing found, pinned as plain examples (independent of the fuzz seed).</summary>
public sealed class FuzzFindingsTests
{
    /// <summary>A user login that has sent its credential-less Login (LoginInfo answered).</summary>
    private static LoginDriver StartedDriver()
    {
        var driver = new LoginDriver(PbxAddress.Parse("master.example.com/PBX0"), PbxScheme.Wss, "alice", "secret", null, "UA", LoginFrames.PinnedRandom);
        driver.Start();
        driver.OnText(Encoding.UTF8.GetBytes(LoginFrames.LoginInfoResult()));
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

    /// <summary>
    /// Undecodable text: bytes that are not UTF-8, escapes that are not UTF-16 (a lone surrogate). System.Text.Json reads
    /// both as well-formed JSON and throws only where the text is decoded (GetString, TryGetProperty, ...). Seed
    /// 20261205 found a lone surrogate in a name inside a Redirect's info throwing out of TryResolveRedirectTarget;
    /// seeds 1 and 3 found the same class elsewhere. The parser refuses such a frame whole: any frame, any place, any stage.
    /// </summary>
    private static readonly string[] UndecodableTexts = ["\\ud800", "\\udc00", "\\ud800\\u0041", "\\udbff\\ud800", "<ff>", "<c0 af>", "<ed a0 80>", "<e2 82>"];

    /// <summary>Where the undecodable text (<c>%BAD%</c>) sits; <c>Signed</c>: a LoginResult or Redirect with a correct digest over its info.</summary>
    private static readonly Dictionary<string, (bool AfterCredentials, Func<string, byte[]> Frame)> Places = new(StringComparer.Ordinal)
    {
        ["Redirect, name in info"] = (false, bad => Bytes("{\"mt\":\"Redirect\",\"info\":{\"host\":\"pbx.example.com\",\"x" + bad + "\":true}}")),
        ["Redirect, info.host"] = (false, bad => Bytes("{\"mt\":\"Redirect\",\"info\":{\"host\":\"pbx" + bad + ".example.com\"}}")),
        ["Redirect, info.mod"] = (false, bad => Bytes("{\"mt\":\"Redirect\",\"info\":{\"host\":\"pbx.example.com\",\"mod\":\"" + bad + "\"}}")),
        ["Redirect, deep in info"] = (false, bad => Bytes("{\"mt\":\"Redirect\",\"info\":{\"host\":\"pbx.example.com\",\"user\":{\"emails\":[\"" + bad + "\"]}}}")),
        ["Redirect, mt"] = (false, bad => Bytes("{\"mt\":\"Redirect" + bad + "\",\"info\":{\"host\":\"pbx.example.com\"}}")),
        ["Redirect, name after info"] = (false, bad => Bytes("{\"mt\":\"Redirect\",\"info\":{\"host\":\"pbx.example.com\"},\"" + bad + "\":1}")),
        ["Signed Redirect, name in info"] = (true, bad => Signed("Redirect", "{\"host\":\"pbx.example.com\",\"" + bad + "\":1}")),
        ["Signed Redirect, info.https"] = (true, bad => Signed("Redirect", "{\"host\":\"pbx.example.com\",\"https\":\"44" + bad + "3\"}")),
        ["Signed LoginResult, info.session.usr"] = (true, bad => Signed("LoginResult", "{\"session\":{\"usr\":\"" + bad + "\",\"pwd\":\"00\"}}")),
        ["Signed LoginResult, name deep in info"] = (true, bad => Signed("LoginResult", "{\"user\":{\"d" + bad + "n\":\"Alice\"},\"standby\":false}")),
        ["Signed LoginResult, info.alt"] = (true, bad => Signed("LoginResult", "{\"alt\":\"" + bad + "/PBX0\"}")),
        ["LoginResult error, errorText"] = (false, bad => Bytes("{\"mt\":\"LoginResult\",\"error\":1,\"errorText\":\"wrong" + bad + "\"}")),
        ["LoginResult error after credentials, errorText"] = (true, bad => Bytes("{\"mt\":\"LoginResult\",\"error\":5,\"errorText\":\"" + bad + "\"}")),
        ["Authenticate, challenge"] = (false, bad => Bytes("{\"mt\":\"Authenticate\",\"type\":\"user\",\"method\":\"digest\",\"domain\":\"example.com\",\"challenge\":\"c0" + bad + "\"}")),
        ["Authenticate, unknown name"] = (false, bad => Bytes("{\"mt\":\"Authenticate\",\"type\":\"user\",\"method\":\"digest\",\"domain\":\"example.com\",\"challenge\":\"c0\",\"" + bad + "\":1}")),
        ["Authorize, unknown name"] = (true, bad => Bytes("{\"mt\":\"Authorize\",\"code\":4711,\"x" + bad + "\":0}")),
        ["post-login message, deep value"] = (false, bad => Bytes("{\"mt\":\"UpdateOwnPresence\",\"presence\":[{\"note\":\"" + bad + "\"}]}")),
        ["post-login message, name before mt"] = (true, bad => Bytes("{\"" + bad + "\":{},\"mt\":\"StandbyBack\"}")),
    };

    public static TheoryData<string, string> RedirectPlaces => Cases(place => place.Contains("Redirect", StringComparison.Ordinal));

    public static TheoryData<string, string> OtherPlaces => Cases(place => !place.Contains("Redirect", StringComparison.Ordinal));

    public static TheoryData<string, string> AllPlaces => Cases(_ => true);

    [Theory]
    [MemberData(nameof(RedirectPlaces))]
    public void R3_RedirectWithUndecodableText_FailsAsProtocolErrorWithAReason(string place, string bad)
    {
        // R3: a Redirect that cannot be followed is a failed attempt with a clear reason, signed or not.
        AssertProtocolError(place, bad);
    }

    [Theory]
    [MemberData(nameof(OtherPlaces))]
    public void LoginFrameWithUndecodableText_FailsAsProtocolErrorWithAReason(string place, string bad)
    {
        AssertProtocolError(place, bad);
    }

    [Theory]
    [MemberData(nameof(AllPlaces))]
    public void TryParse_UndecodableTextAnywhere_FailsWithAReason(string place, string bad)
    {
        MyAppsFrame.TryParse(Places[place].Frame(bad), out var frame, out var error).Should().BeFalse();

        frame.Should().BeNull();
        error.Should().Contain("undecodable text");
    }

    [Theory]
    [MemberData(nameof(AllPlaces))]
    public void TryReadMt_UndecodableTextAnywhere_ReturnsAnMtOrNullWithoutThrowing(string place, string bad)
    {
        // The post-login path reads only mt: it publishes every frame, and undecodable text before mt makes no mt.
        var mt = MyAppsFrame.TryReadMt(Places[place].Frame(bad));

        mt.Should().BeOneOf(null, "Redirect", "LoginResult", "Authenticate", "Authorize", "UpdateOwnPresence", "StandbyBack");
    }

    [Theory]
    [InlineData("{\"mt\":\"Redirect\",\"info\":{\"\\ud800\":1}}", "undecodable text in 'info'")]
    [InlineData("{\"mt\":\"\\ud800\"}", "undecodable text in 'mt'")]
    [InlineData("{\"\\ud800\":1,\"mt\":\"Redirect\"}", "undecodable text in a field name")]
    [InlineData("{\"mt\":\"Redirect\",\"junk\":[\"\\ud800\"]}", "undecodable text in an unknown field")]
    public void TryParse_UndecodableText_ReasonSaysWhere(string json, string reason)
    {
        MyAppsFrame.TryParse(Encoding.UTF8.GetBytes(json), out _, out var error).Should().BeFalse();

        error.Should().StartWith(reason).And.Contain("invalid UTF-8 or an escaped lone surrogate");
    }

    [Fact]
    public void TryParse_ValidSurrogatePairAndNonAsciiText_StillParse()
    {
        // The check refuses only what cannot be decoded: a pair of escapes, raw UTF-8 and escaped non-ASCII pass.
        var frame = Encoding.UTF8.GetBytes("{\"mt\":\"Redirect\",\"info\":{\"host\":\"pbx.example.com\",\"dn\":\"J\\u00fcrgen \\ud83d\\ude00 Jürgen\"}}");

        MyAppsFrame.TryParse(frame, out _, out var error).Should().BeTrue(error);
        StartedDriver().OnText(frame).Outcome.Should().Be(new Redirected(PbxAddress.Parse("pbx.example.com/PBX0"), PbxScheme.Wss));
    }

    private static void AssertProtocolError(string place, string bad)
    {
        var (afterCredentials, build) = Places[place];
        var driver = StartedDriver();
        if (afterCredentials)
        {
            driver.OnText(Encoding.UTF8.GetBytes(LoginFrames.Authenticate())).Send.Should().ContainSingle("the digest Login is sent");
        }

        var step = driver.OnText(build(bad));

        step.LoggedIn.Should().BeNull();
        var failed = step.Outcome.Should().BeOfType<AttemptFailed>().Subject;
        failed.Kind.Should().Be(AttemptFailureKind.ProtocolError);
        failed.Reason.Should().Contain("undecodable text").And.Contain("invalid UTF-8 or an escaped lone surrogate");
    }

    private static TheoryData<string, string> Cases(Func<string, bool> where)
    {
        var data = new TheoryData<string, string>();
        foreach (var place in Places.Keys.Where(where))
        {
            foreach (var bad in UndecodableTexts)
            {
                data.Add(place, bad);
            }
        }

        return data;
    }

    /// <summary>A LoginResult or Redirect whose digest is correct for the login of <see cref="StartedDriver"/> after its Authenticate.</summary>
    private static byte[] Signed(string mt, string info)
    {
        var infoBytes = Bytes(info);
        var digest = mt == "Redirect"
            ? MyAppsCrypto.RedirectDigest("alice", "secret", LoginFrames.Nonce, LoginFrames.Challenge, infoBytes)
            : MyAppsCrypto.LoginResultDigest(LoginFrames.Domain, "alice", "secret", LoginFrames.Nonce, LoginFrames.Challenge, infoBytes);
        return [.. Bytes("{\"mt\":\"" + mt + "\",\"info\":"), .. infoBytes, .. Bytes(",\"digest\":\"" + digest + "\"}")];
    }

    /// <summary>The UTF-8 of <paramref name="text"/>, with each <c>&lt;hex bytes&gt;</c> group as those raw bytes (invalid UTF-8 on purpose).</summary>
    private static byte[] Bytes(string text)
    {
        var bytes = new List<byte>();
        var rest = text;
        for (var open = rest.IndexOf('<', StringComparison.Ordinal); open >= 0; open = rest.IndexOf('<', StringComparison.Ordinal))
        {
            var close = rest.IndexOf('>', open);
            bytes.AddRange(Encoding.UTF8.GetBytes(rest[..open]));
            bytes.AddRange(Convert.FromHexString(rest[(open + 1)..close].Replace(" ", string.Empty, StringComparison.Ordinal)));
            rest = rest[(close + 1)..];
        }

        bytes.AddRange(Encoding.UTF8.GetBytes(rest));
        return [.. bytes];
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
