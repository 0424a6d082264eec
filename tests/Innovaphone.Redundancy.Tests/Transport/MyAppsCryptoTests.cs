using System.Text;
using FluentAssertions;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Transport;

/// <summary>
/// Digest, RC4 and nonce pieces against vectors computed outside .NET.
/// Digests: <c>printf '%s' '&lt;string&gt;' | sha256sum</c> in bash (single quotes, so <c>\u00e4</c> stays six literal characters).
/// RC4: python3 with a textbook RC4 (KSA + PRGA, 20 lines), checked against the published vector Key/Plaintext = bbf316e8d940af0ad3.
/// </summary>
public sealed class MyAppsCryptoTests
{
    private const string Nonce = "0123456789abcdef";
    private const string Challenge = "c0ffee1234";

    [Fact]
    public void LoginResponse_UserLogin_MatchesSha256sum()
    {
        // printf '%s' 'innovaphoneAppClient:user:example.com:alice:secret:0123456789abcdef:c0ffee1234' | sha256sum
        MyAppsCrypto.LoginResponse("user", "example.com", "alice", "secret", Nonce, Challenge)
            .Should().Be("cea8f3d5f5f769b4933d593457341cd409888d75b4b3e86122e7ec257cb99837");
    }

    [Fact]
    public void LoginResponse_SessionLogin_MatchesSha256sum()
    {
        // printf '%s' 'innovaphoneAppClient:session:example.com:sess-id-1:sess-pw-1:0123456789abcdef:c0ffee1234' | sha256sum
        MyAppsCrypto.LoginResponse("session", "example.com", "sess-id-1", "sess-pw-1", Nonce, Challenge)
            .Should().Be("834124b5a2e8fb273a532fd7f66c0d186199fc9fcfbfbb3f9aa81a26752c48dc");
    }

    [Fact]
    public void LoginResponse_NonAsciiText_IsHashedAsUtf8()
    {
        // printf '%s' 'innovaphoneAppClient:user:dömain:alice:pässword:0123456789abcdef:c0ffee1234' | sha256sum   (UTF-8 terminal)
        MyAppsCrypto.LoginResponse("user", "dömain", "alice", "pässword", Nonce, Challenge)
            .Should().Be("8f1b5d2494f50a495ff94661800316c3e4c7dc99c42aa45735e5e1aec9b06756");
    }

    [Fact]
    public void LoginResultDigest_RawInfoWithWhitespaceAndEscape_MatchesSha256sum()
    {
        // printf '%s' 'innovaphoneAppClient:loginresult:example.com:alice:secret:0123456789abcdef:c0ffee1234:{"alt":"standby.example.com/PBX0", "x":"a\u00e4"}' | sha256sum
        var info = Encoding.UTF8.GetBytes("{\"alt\":\"standby.example.com/PBX0\", \"x\":\"a\\u00e4\"}");

        MyAppsCrypto.LoginResultDigest("example.com", "alice", "secret", Nonce, Challenge, info)
            .Should().Be("007f2d002e57cd45610a69380e80b6e02e08c2c47af3e2e58a16c5cbcdad3e99");
    }

    [Fact]
    public void RedirectDigest_HasNoDomain_MatchesSha256sum()
    {
        // printf '%s' 'innovaphoneAppClient:redirect:alice:secret:0123456789abcdef:c0ffee1234:{"host":"slave.example.com","mod":"PBX1"}' | sha256sum
        var info = Encoding.UTF8.GetBytes("{\"host\":\"slave.example.com\",\"mod\":\"PBX1\"}");

        MyAppsCrypto.RedirectDigest("alice", "secret", Nonce, Challenge, info)
            .Should().Be("4bec5c1732f356602b04b88efde6055ad64415cd99441a310483e0712c27da7b");
    }

    [Theory]
    [InlineData("cea8f3d5f5f769b4933d593457341cd409888d75b4b3e86122e7ec257cb99837", true)]
    [InlineData("CEA8F3D5F5F769B4933D593457341CD409888D75B4B3E86122E7EC257CB99837", true)]
    [InlineData("cea8f3d5f5f769b4933d593457341cd409888d75b4b3e86122e7ec257cb99838", false)]
    [InlineData("cea8f3d5f5f769b4933d593457341cd409888d75b4b3e86122e7ec257cb998", false)]
    [InlineData("zea8f3d5f5f769b4933d593457341cd409888d75b4b3e86122e7ec257cb99837", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void DigestMatches_VariousInputs_AcceptsOnlyTheSameBytes(string? received, bool expected)
    {
        MyAppsCrypto.DigestMatches("cea8f3d5f5f769b4933d593457341cd409888d75b4b3e86122e7ec257cb99837", received).Should().Be(expected);
    }

    [Fact]
    public void Rc4_PublishedVector_Matches()
    {
        // The classic vector (Wikipedia "RC4"): key "Key", plaintext "Plaintext" -> BBF316E8D940AF0AD3; python3 agrees.
        var data = Encoding.ASCII.GetBytes("Plaintext");

        MyAppsCrypto.Rc4(Encoding.ASCII.GetBytes("Key"), data);

        Convert.ToHexString(data).Should().Be("BBF316E8D940AF0AD3");
    }

    [Fact]
    public void Rc4_AppliedTwice_RestoresData()
    {
        var data = Encoding.ASCII.GetBytes("session data");
        var key = Encoding.ASCII.GetBytes("k");

        MyAppsCrypto.Rc4(key, data);
        MyAppsCrypto.Rc4(key, data);

        Encoding.ASCII.GetString(data).Should().Be("session data");
    }

    [Fact]
    public void DecryptSessionPart_Usr_MatchesPython()
    {
        // python3: rc4(b"innovaphoneAppClient:usr:0123456789abcdef:secret", b"sess-id-1").hex() == "709531db4935322206"
        MyAppsCrypto.DecryptSessionPart("usr", Nonce, "secret", "709531db4935322206").Should().Be("sess-id-1");
    }

    [Fact]
    public void DecryptSessionPart_Pwd_UsesPwdInKey()
    {
        // python3: rc4(b"innovaphoneAppClient:pwd:0123456789abcdef:secret", b"sess-pw-1").hex() == "eb57d30f5fcdb0706c"
        MyAppsCrypto.DecryptSessionPart("pwd", Nonce, "secret", "eb57d30f5fcdb0706c").Should().Be("sess-pw-1");
    }

    [Fact]
    public void DecryptSessionPart_PublicGoClientVector_Matches()
    {
        // A vector published with the open-source go-myapps client; python3 with the same RC4 gives the same result.
        MyAppsCrypto.DecryptSessionPart(
                "usr",
                "5bba709c4b68374d",
                "ip411",
                "568665fc2f134d3133325b1f30d66e4e6c9f6f9d165e2f5ce7bbfff1b1de68da")
            .Should().Be("9ae4b9193f1362019e19009033400109");
    }

    [Theory]
    [InlineData("xyz")]
    [InlineData("abc")]
    public void DecryptSessionPart_NotHex_ReturnsNull(string hex)
    {
        MyAppsCrypto.DecryptSessionPart("usr", Nonce, "secret", hex).Should().BeNull();
    }

    [Fact]
    public void LoginResponse_InnovaphoneOAuth2DemoExample_IsNotTheResponseItPrints()
    {
        // MYAPPS_OAUTH20.md (innovaphone/myapps-oauth2-demo) prints 7dd61942…55d9 for this string; sha256sum disagrees:
        // printf '%s' 'innovaphoneAppClient:session:example.com:2017862910f54b42b0dc5a8b48509487:CJv8T5QopMHnuEjpau9vkMM:742a7df3180dd0eb:18bbf2255ea04bad' | sha256sum
        MyAppsCrypto.LoginResponse("session", "example.com", "2017862910f54b42b0dc5a8b48509487", "CJv8T5QopMHnuEjpau9vkMM", "742a7df3180dd0eb", "18bbf2255ea04bad")
            .Should().Be("12134d2b4474dbdd9728c329557aab07b43d65cd3926a7d5ffdd7470156663e1");
    }

    [Fact]
    public void KeyShare_FixedPrivateKey_IsTheUncompressedPointWithoutPrefix()
    {
        // Commands in LoginDriverTests.SignIn.cs (python3 cryptography; openssl ec -text shows the same point after 04).
        using var key = LoginFrames.KeyPair(LoginFrames.ClientPrivateKey, LoginFrames.ClientKeyShare);
        using var derived = System.Security.Cryptography.ECDiffieHellman.Create(new System.Security.Cryptography.ECParameters
        {
            Curve = System.Security.Cryptography.ECCurve.NamedCurves.nistP256,
            D = Convert.FromHexString(LoginFrames.PbxPrivateKey),
        });

        MyAppsCrypto.KeyShare(key).Should().Be(LoginFrames.ClientKeyShare);

        // The public point computed by the platform from the private key alone matches python's.
        MyAppsCrypto.KeyShare(derived).Should().Be(LoginFrames.PbxKeyShare);
    }

    [Fact]
    public void SharedSecret_FixedKeys_MatchesPythonAndOpenssl()
    {
        using var client = LoginFrames.KeyPair(LoginFrames.ClientPrivateKey, LoginFrames.ClientKeyShare);
        using var pbx = LoginFrames.KeyPair(LoginFrames.PbxPrivateKey, LoginFrames.PbxKeyShare);

        MyAppsCrypto.SharedSecret(client, LoginFrames.PbxKeyShare).Should().Be(LoginFrames.SharedSecret);
        MyAppsCrypto.SharedSecret(pbx, LoginFrames.ClientKeyShare).Should().Be(LoginFrames.SharedSecret);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("d65a93977caa3d1b081852ff57a79e465f1660577304baead505dd3a48589cf3")]
    [InlineData("x65a93977caa3d1b081852ff57a79e465f1660577304baead505dd3a48589cf350185e895372df6221ea3a137557e473fddb6755f05bd507c3c533fce9c91285")]
    [InlineData("d65a93977caa3d1b081852ff57a79e465f1660577304baead505dd3a48589cf350185e895372df6221ea3a137557e473fddb6755f05bd507c3c533fce9c91286")]
    public void SharedSecret_NotAPointOfTheCurve_IsNull(string? peer)
    {
        using var client = LoginFrames.KeyPair(LoginFrames.ClientPrivateKey, LoginFrames.ClientKeyShare);

        MyAppsCrypto.SharedSecret(client, peer).Should().BeNull();
    }

    [Fact]
    public void DecryptSessionPart_SharedSecretAsPassword_MatchesPython()
    {
        // python3: rc4(b"innovaphoneAppClient:usr:0123456789abcdef:ccfc261f…9af6", b"sso-sess-id").hex() == "2e8d0b7002153a8baca121"
        // (the full secret is LoginFrames.SharedSecret; pwd likewise gives dd9a35381c450f892637e9 for "sso-sess-pw")
        MyAppsCrypto.DecryptSessionPart("usr", Nonce, LoginFrames.SharedSecret, "2e8d0b7002153a8baca121").Should().Be("sso-sess-id");
        MyAppsCrypto.DecryptSessionPart("pwd", Nonce, LoginFrames.SharedSecret, "dd9a35381c450f892637e9").Should().Be("sso-sess-pw");
    }

    [Fact]
    public void NewNonce_PinnedRandom_Is16LowercaseHexOfTheBytes()
    {
        var nonce = MyAppsCrypto.NewNonce(b => Convert.FromHexString("0123456789ABCDEF").CopyTo(b));

        nonce.Should().Be("0123456789abcdef");
    }

    [Fact]
    public void NewNonce_RequestsExactlyEightBytes()
    {
        var requested = -1;
        _ = MyAppsCrypto.NewNonce(b => requested = b.Length);

        requested.Should().Be(8);
    }

    [Fact]
    public void NewNonce_SystemRandom_IsFreshAndWellFormed()
    {
        var nonces = Enumerable.Range(0, 50).Select(_ => MyAppsCrypto.NewNonce(System.Security.Cryptography.RandomNumberGenerator.Fill)).ToList();

        nonces.Should().OnlyHaveUniqueItems();
        nonces.Should().AllSatisfy(n => n.Should().MatchRegex("^[0-9a-f]{16}$"));
    }
}
