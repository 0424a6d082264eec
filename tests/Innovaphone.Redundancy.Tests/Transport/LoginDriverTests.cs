using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

using static Innovaphone.Redundancy.TestSupport.LoginFrames;

namespace Innovaphone.Redundancy.Tests.Transport;

/// <summary>
/// The login state machine over scripted PBX frames. The nonce source is pinned to 0123456789abcdef, so the expected
/// Login response is the sha256sum-computed vector of <see cref="MyAppsCryptoTests"/>; answers are signed with the
/// (separately verified) digest functions, as a PBX knowing the secret would. The OAuth2 sign-in and the LoginInfo step
/// are in LoginDriverTests.SignIn.cs.
/// </summary>
public sealed partial class LoginDriverTests
{
    private static readonly PbxAddress Master = PbxAddress.Parse("master.example.com/PBX0");

    private static LoginDriver NewDriver(
        string? password = "secret", MyAppsSession? session = null, PbxAddress? pbx = null, PbxScheme scheme = PbxScheme.Wss, bool singleSignOn = false, Func<ECDiffieHellman>? keyPair = null) =>
        new(pbx ?? Master, scheme, "alice", password, session, "UA", PinnedRandom, singleSignOn, keyPair);

    private static LoginStep Feed(LoginDriver driver, string json) => driver.OnText(Encoding.UTF8.GetBytes(json));

    private static JsonElement SingleSent(LoginStep step)
    {
        step.Send.Should().ContainSingle();
        return JsonDocument.Parse(step.Send[0]).RootElement;
    }

    /// <summary>Starts a user login and answers its LoginInfo (by default: user digest offered).</summary>
    private static LoginStep StartUser(LoginDriver driver, string? loginInfoResult = null)
    {
        var step = driver.Start();
        step.AwaitsLoginInfo.Should().BeTrue();
        return Feed(driver, loginInfoResult ?? LoginInfoResult());
    }

    private static LoginStep LogInToResultWait(LoginDriver driver)
    {
        StartUser(driver);
        return Feed(driver, Authenticate());
    }

    [Fact]
    public void Start_WithPassword_SendsLoginInfoThenCredentialLessUserLogin()
    {
        var driver = NewDriver();
        var first = driver.Start();

        SingleSent(first).GetRawText().Should().Be("{\"mt\":\"LoginInfo\"}");
        first.AwaitsLoginInfo.Should().BeTrue();
        first.IsFinal.Should().BeFalse();
        SingleSent(Feed(driver, LoginInfoResult())).GetRawText().Should().Be("{\"mt\":\"Login\",\"type\":\"user\",\"userAgent\":\"UA\"}");
        driver.UsesSession.Should().BeFalse();
    }

    [Fact]
    public void Start_WithSession_SendsSessionLogin()
    {
        var step = NewDriver(session: new MyAppsSession("sess-id-1", "sess-pw-1")).Start();

        // The failover path: no LoginInfo round trip.
        SingleSent(step).GetRawText().Should().Be("{\"mt\":\"Login\",\"type\":\"session\",\"userAgent\":\"UA\"}");
        step.AwaitsLoginInfo.Should().BeFalse();
    }

    [Fact]
    public void Start_NoPasswordNoSession_RejectsWithoutSending()
    {
        var step = NewDriver(password: null).Start();

        step.Send.Should().BeEmpty();
        step.Outcome.Should().BeOfType<Rejected>().Which.Code.Should().Be(RejectionCodes.NoCredentials);
    }

    [Fact]
    public void Authenticate_UserLogin_SendsDigestResponseVector()
    {
        var driver = NewDriver();
        StartUser(driver);

        var sent = SingleSent(Feed(driver, Authenticate()));

        sent.GetProperty("mt").GetString().Should().Be("Login");
        sent.GetProperty("type").GetString().Should().Be("user");
        sent.GetProperty("method").GetString().Should().Be("digest");
        sent.GetProperty("username").GetString().Should().Be("alice");
        sent.GetProperty("nonce").GetString().Should().Be(Nonce);
        sent.GetProperty("userAgent").GetString().Should().Be("UA");

        // sha256sum vector, see MyAppsCryptoTests.LoginResponse_UserLogin_MatchesSha256sum
        sent.GetProperty("response").GetString().Should().Be("cea8f3d5f5f769b4933d593457341cd409888d75b4b3e86122e7ec257cb99837");
        sent.EnumerateObject().Select(p => p.Name).Should().NotContain("password");
    }

    [Fact]
    public void Authenticate_SessionLogin_UsesSessionIdAndPasswordVector()
    {
        var driver = NewDriver(session: new MyAppsSession("sess-id-1", "sess-pw-1"));
        driver.Start();

        var sent = SingleSent(Feed(driver, Authenticate("session")));

        sent.GetProperty("username").GetString().Should().Be("sess-id-1");
        sent.GetProperty("response").GetString().Should().Be("834124b5a2e8fb273a532fd7f66c0d186199fc9fcfbfbb3f9aa81a26752c48dc");
    }

    [Fact]
    public void LoginResult_ValidDigest_LogsInWithTopology()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        var step = Feed(driver, LoginResult("{\"alt\":\"standby.example.com/PBX0\",\"master\":\"127.0.0.2:8443/PBX0\",\"altMaster\":true,\"standby\":false}"));

        step.IsFinal.Should().BeTrue();
        step.Outcome.Should().BeNull();
        step.LoggedIn.Should().Be(new PbxLoginInfo(false, PbxAddress.Parse("standby.example.com/PBX0"), PbxAddress.Parse("127.0.0.2:8443/PBX0")));
        step.Notes.Should().BeEmpty();
    }

    [Fact]
    public void LoginResult_RawInfoWithWhitespace_VerifiesOverRawBytes()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        // Digest computed with sha256sum over exactly this text (MyAppsCryptoTests.LoginResultDigest_RawInfo...).
        var step = Feed(driver, "{\"mt\":\"LoginResult\",\"info\":{\"alt\":\"standby.example.com/PBX0\", \"x\":\"a\\u00e4\"},\"digest\":\"007f2d002e57cd45610a69380e80b6e02e08c2c47af3e2e58a16c5cbcdad3e99\"}");

        step.LoggedIn.Should().NotBeNull();
        step.LoggedIn!.Alternative.Should().Be(PbxAddress.Parse("standby.example.com/PBX0"));
        step.LoggedIn.Standby.Should().BeNull();
    }

    [Fact]
    public void LoginResult_StandbyTrue_IsReported()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        Feed(driver, LoginResult("{\"standby\":true}")).LoggedIn!.Standby.Should().BeTrue();
    }

    [Fact]
    public void LoginResult_UnparseableAlt_IsIgnoredWithNote()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        var step = Feed(driver, LoginResult("{\"alt\":\"http://x\",\"standby\":\"yes\"}"));

        step.LoggedIn.Should().Be(PbxLoginInfo.None);
        step.Notes.Should().HaveCount(2);
    }

    [Fact]
    public void LoginResult_WithSession_DecryptsSession()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        // python3 RC4 (see MyAppsCryptoTests): usr = "sess-id-1", pwd = "sess-pw-1" under nonce 0123456789abcdef, password "secret".
        var step = Feed(driver, LoginResult("{\"session\":{\"usr\":\"709531db4935322206\",\"pwd\":\"eb57d30f5fcdb0706c\"}}"));

        step.LearnedSession.Should().Be(new MyAppsSession("sess-id-1", "sess-pw-1"));
    }

    [Fact]
    public void LoginResult_SessionLoginReturnsNewSession_DecryptsWithSessionPassword()
    {
        var driver = NewDriver(session: new MyAppsSession("sess-id-1", "sess-pw-1"));
        driver.Start();
        Feed(driver, Authenticate("session"));

        // python3: rc4(b"innovaphoneAppClient:usr:0123456789abcdef:sess-pw-1", b"sess-id-2").hex() and likewise pwd.
        var step = Feed(driver, LoginResult("{\"session\":{\"usr\":\"c3efe2056783adca03\",\"pwd\":\"9e8d3bae4685ab14c6\"}}", "sess-id-1", "sess-pw-1"));

        step.LearnedSession.Should().Be(new MyAppsSession("sess-id-2", "sess-pw-2"));
    }

    [Fact]
    public void LoginResult_ForgedDigest_FailsAsForgedDigest()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        // Signed with a wrong password: a PBX (or attacker) that does not know the user's secret.
        var step = Feed(driver, LoginResult("{\"standby\":false}", password: "guess"));

        step.LoggedIn.Should().BeNull();
        step.Outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.ForgedDigest);
    }

    [Fact]
    public void LoginResult_InfoChangedAfterSigning_FailsAsForgedDigest()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);
        var digest = MyAppsCrypto.LoginResultDigest(Domain, "alice", "secret", Nonce, Challenge, "{\"standby\":false}"u8);

        // Same JSON meaning, different bytes: the digest is over the raw text, so this must not verify.
        var step = Feed(driver, $"{{\"mt\":\"LoginResult\",\"info\":{{\"standby\": false}},\"digest\":\"{digest}\"}}");

        step.Outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.ForgedDigest);
    }

    [Fact]
    public void LoginResult_MissingDigest_FailsAsForgedDigest()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        var step = Feed(driver, "{\"mt\":\"LoginResult\",\"info\":{}}");

        step.Outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.ForgedDigest);
    }

    [Fact]
    public void LoginResult_WrongPassword_IsRejectedWithPbxError()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        var step = Feed(driver, "{\"mt\":\"LoginResult\",\"error\":1,\"errorText\":\"Wrong password\"}");

        step.Outcome.Should().Be(new Rejected(1, "Wrong password"));
        step.SessionDropped.Should().BeFalse();
    }

    [Fact]
    public void R9_LoginResult_FailureToCredentialLessLogin_IsARefusedAttemptNotARejection()
    {
        var driver = NewDriver();
        StartUser(driver);

        // No credentials were sent, so the error judges none: the PBX takes no logins now, and the round goes on.
        var failed = Feed(driver, "{\"mt\":\"LoginResult\",\"error\":3,\"errorText\":\"Blocked\"}").Outcome.Should().BeOfType<AttemptFailed>().Which;
        failed.Kind.Should().Be(AttemptFailureKind.Refused);
        failed.Reason.Should().Be("the PBX refused the login before any credentials were sent: Blocked (error 3)");
    }

    [Fact]
    public void R9_LoginResult_FailureAfterTheCredentials_IsRejected()
    {
        var driver = NewDriver();
        StartUser(driver);
        Feed(driver, Authenticate());

        Feed(driver, "{\"mt\":\"LoginResult\",\"error\":1,\"errorText\":\"Wrong password\"}").Outcome.Should().Be(new Rejected(1, "Wrong password"));
    }

    [Fact]
    public void LoginResult_SessionExpired_DropsSessionAndRetriesAsUserWithFreshExchange()
    {
        var driver = NewDriver(session: new MyAppsSession("sess-id-1", "sess-pw-1"));
        driver.Start();
        Feed(driver, Authenticate("session"));

        var step = Feed(driver, "{\"mt\":\"LoginResult\",\"error\":5,\"errorText\":\"Session expired\"}");

        step.SessionDropped.Should().BeTrue();
        step.IsFinal.Should().BeFalse();
        SingleSent(step).GetRawText().Should().Be("{\"mt\":\"LoginInfo\"}");
        step.AwaitsLoginInfo.Should().BeTrue();
        driver.UsesSession.Should().BeFalse();

        // The retry runs the full user login.
        SingleSent(Feed(driver, LoginInfoResult())).GetRawText().Should().Be("{\"mt\":\"Login\",\"type\":\"user\",\"userAgent\":\"UA\"}");
        SingleSent(Feed(driver, Authenticate())).GetProperty("response").GetString()
            .Should().Be("cea8f3d5f5f769b4933d593457341cd409888d75b4b3e86122e7ec257cb99837");
        Feed(driver, LoginResult("{}")).LoggedIn.Should().Be(PbxLoginInfo.None);
    }

    [Fact]
    public void LoginResult_SessionExpiredToCredentialLessLogin_AlsoFallsBack()
    {
        var driver = NewDriver(session: new MyAppsSession("sess-id-1", "sess-pw-1"));
        driver.Start();

        var step = Feed(driver, "{\"mt\":\"LoginResult\",\"error\":5}");

        step.SessionDropped.Should().BeTrue();
        SingleSent(step).GetProperty("mt").GetString().Should().Be("LoginInfo");
    }

    [Fact]
    public void LoginResult_SessionExpiredWithoutPassword_IsRejected()
    {
        var driver = NewDriver(password: null, session: new MyAppsSession("sess-id-1", "sess-pw-1"));
        driver.Start();
        Feed(driver, Authenticate("session"));

        var step = Feed(driver, "{\"mt\":\"LoginResult\",\"error\":5,\"errorText\":\"Session expired\"}");

        step.SessionDropped.Should().BeTrue();
        step.Send.Should().BeEmpty();
        step.Outcome.Should().Be(new Rejected(5, "Session expired"));
    }

    [Fact]
    public void LoginResult_NegativeError_IsProtocolErrorNotAClientRejectionCode()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        Feed(driver, "{\"mt\":\"LoginResult\",\"error\":-2,\"errorText\":\"x\"}").Outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.ProtocolError);
    }

    [Fact]
    public void LoginResult_Error5OnUserLogin_IsRejectedNotRetried()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        var step = Feed(driver, "{\"mt\":\"LoginResult\",\"error\":5,\"errorText\":\"x\"}");

        step.Outcome.Should().Be(new Rejected(5, "x"));
        step.Send.Should().BeEmpty();
    }

    [Fact]
    public void Authorize_AfterCredentials_ReportsCodeAndKeepsWaiting()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        var step = Feed(driver, "{\"mt\":\"Authorize\",\"code\":4711}");

        step.AuthorizeCode.Should().Be(4711);
        step.IsFinal.Should().BeFalse();
        step.Send.Should().BeEmpty();
        Feed(driver, LoginResult("{}")).LoggedIn.Should().NotBeNull();
    }

    [Fact]
    public void Redirect_ValidDigest_RedirectsToHostAndModule()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        var step = Feed(driver, Redirect("{\"host\":\"slave.example.com\",\"mod\":\"PBX1\"}"));

        step.Outcome.Should().Be(new Redirected(PbxAddress.Parse("slave.example.com/PBX1"), PbxScheme.Wss));
    }

    [Fact]
    public void Redirect_PinnedVector_Verifies()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        // Digest from sha256sum, see MyAppsCryptoTests.RedirectDigest_HasNoDomain_MatchesSha256sum.
        var step = Feed(driver, "{\"mt\":\"Redirect\",\"info\":{\"host\":\"slave.example.com\",\"mod\":\"PBX1\"},\"digest\":\"4bec5c1732f356602b04b88efde6055ad64415cd99441a310483e0712c27da7b\"}");

        step.Outcome.Should().BeOfType<Redirected>();
    }

    [Fact]
    public void Redirect_ForgedDigest_FailsAsForgedDigest()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        var step = Feed(driver, Redirect("{\"host\":\"evil.example.com\"}", password: "guess"));

        step.Outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.ForgedDigest);
    }

    [Fact]
    public void Redirect_MissingDigestAfterCredentials_FailsAsForgedDigest()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        Feed(driver, "{\"mt\":\"Redirect\",\"info\":{\"host\":\"slave.example.com\"}}")
            .Outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.ForgedDigest);
    }

    [Fact]
    public void Redirect_ToCredentialLessLogin_IsFollowedUnverifiedInSameScheme()
    {
        var driver = NewDriver(pbx: PbxAddress.Parse("127.0.0.1:8080/PBX0"), scheme: PbxScheme.Ws);
        StartUser(driver);

        var step = Feed(driver, "{\"mt\":\"Redirect\",\"info\":{\"host\":\"127.0.0.2\",\"https\":8443,\"http\":8081}}");

        step.Outcome.Should().Be(new Redirected(PbxAddress.Parse("127.0.0.2:8081/PBX0"), PbxScheme.Ws));
        step.Notes.Should().ContainSingle().Which.Should().Contain("no verifiable digest");
    }

    [Fact]
    public void Redirect_WithoutHost_IsProtocolError()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        Feed(driver, Redirect("{\"mod\":\"PBX1\"}"))
            .Outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.ProtocolError);
    }

    [Theory]
    [InlineData("{\"mt\":\"Login\"")]
    [InlineData("{\"mt\":\"SomethingElse\"}")]
    [InlineData("{\"nomt\":1}")]
    [InlineData("{\"mt\":\"Authenticate\",\"type\":\"user\",\"method\":\"ntlm\",\"domain\":\"d\",\"challenge\":\"c\"}")]
    [InlineData("{\"mt\":\"Authenticate\",\"type\":\"session\",\"method\":\"digest\",\"domain\":\"d\",\"challenge\":\"c\"}")]
    [InlineData("{\"mt\":\"Authenticate\",\"type\":\"user\",\"method\":\"digest\",\"domain\":\"d\"}")]
    [InlineData("{\"mt\":\"Authorize\",\"code\":1}")]
    [InlineData("{\"mt\":\"LoginResult\",\"info\":{},\"digest\":\"00\"}")]
    [InlineData("{\"mt\":\"LoginResult\"}")]
    [InlineData("{\"mt\":\"Redirect\"}")]
    public void FirstAnswer_MalformedUnknownOrOutOfOrder_IsProtocolError(string frame)
    {
        var driver = NewDriver();
        StartUser(driver);

        var step = Feed(driver, frame);

        step.Outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.ProtocolError);
        step.Send.Should().BeEmpty();
    }

    [Theory]
    [InlineData("{\"mt\":\"Authenticate\",\"type\":\"user\",\"method\":\"digest\",\"domain\":\"d\",\"challenge\":\"c\"}")]
    [InlineData("{\"mt\":\"Authorize\"}")]
    [InlineData("{\"mt\":\"StandbyBack\"}")]
    [InlineData("{\"mt\":\"LoginResult\",\"info\":[]}")]
    [InlineData("{]")]
    public void SecondAnswer_MalformedUnknownOrOutOfOrder_IsProtocolError(string frame)
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        Feed(driver, frame).Outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.ProtocolError);
    }

    [Fact]
    public void BinaryFrame_IsProtocolError()
    {
        var driver = NewDriver();
        StartUser(driver);

        driver.OnBinary().Outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.ProtocolError);
    }

    [Fact]
    public void TooLargeFrame_IsProtocolError()
    {
        var driver = NewDriver();
        StartUser(driver);

        driver.OnTooLarge(1024).Outcome.Should().BeOfType<AttemptFailed>()
            .Which.Should().Match<AttemptFailed>(f => f.Kind == AttemptFailureKind.ProtocolError && f.Reason.Contains("1024"));
    }

    [Fact]
    public void Closed_DuringLogin_IsUnreachable()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);

        driver.OnClosed("EndpointUnavailable").Outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.Unreachable);
    }

    [Fact]
    public void Events_AfterFinalStep_Throw()
    {
        var driver = NewDriver();
        LogInToResultWait(driver);
        Feed(driver, LoginResult("{}"));

        var act = () => Feed(driver, LoginResult("{}"));

        act.Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void Outcomes_ForgedOrRejected_CarryNoSecrets()
    {
        var reasons = new List<string>();
        var driver = NewDriver();
        LogInToResultWait(driver);
        reasons.Add(Feed(driver, LoginResult("{}", password: "guess")).Outcome!.ToString()!);
        driver = NewDriver();
        LogInToResultWait(driver);
        reasons.Add(Feed(driver, Redirect("{\"host\":\"h\"}", password: "guess")).Outcome!.ToString()!);

        reasons.Should().AllSatisfy(r => r.Should().NotContainAny("secret", Nonce, Challenge, "alice"));
    }
}
