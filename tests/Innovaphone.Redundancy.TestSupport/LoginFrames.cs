using System.Security.Cryptography;
using System.Text;
using Innovaphone.Redundancy.Transport.WebSockets;

namespace Innovaphone.Redundancy.TestSupport;

/// <summary>
/// The scripted PBX frames (and the fixed nonce and ECDHE vector behind them) of the login driver's tests, which the
/// login fuzzer and the integration tests (WebSocket transport, post-login fuzz, secret leaks) use as well.
/// </summary>
internal static class LoginFrames
{
    internal const string Nonce = "0123456789abcdef";
    internal const string Domain = "example.com";
    internal const string Challenge = "c0ffee1234";
    internal const string SignInUrl = "https://idp.example.com/realms/x/auth?client_id=innovaphone&state=st4te-0f-this-login";

    // The fixed ECDHE vector: private keys 0x11..11 (client) and 0x22..22 (PBX) on P-256. Derived with python3
    // (package cryptography) and cross-checked with openssl; the commands are in LoginDriverTests.SignIn.cs.
    internal const string ClientPrivateKey = "1111111111111111111111111111111111111111111111111111111111111111";
    internal const string ClientKeyShare = "0217e617f0b6443928278f96999e69a23a4f2c152bdf6d6cdf66e5b80282d4ed194a7debcb97712d2dda3ca85aa8765a56f45fc758599652f2897c65306e5794";
    internal const string PbxPrivateKey = "2222222222222222222222222222222222222222222222222222222222222222";
    internal const string PbxKeyShare = "d65a93977caa3d1b081852ff57a79e465f1660577304baead505dd3a48589cf350185e895372df6221ea3a137557e473fddb6755f05bd507c3c533fce9c91285";
    internal const string SharedSecret = "ccfc261f58193c98ca4ad4a53bbac6f0ee29bc4d48438090446908622ca79af6";

    internal static readonly RandomBytesFiller PinnedRandom = b => Convert.FromHexString(Nonce).CopyTo(b);

    internal static string Authenticate(string type = "user") =>
        $"{{\"mt\":\"Authenticate\",\"type\":\"{type}\",\"method\":\"digest\",\"domain\":\"{Domain}\",\"challenge\":\"{Challenge}\"}}";

    internal static string LoginResult(string info, string username = "alice", string password = "secret") =>
        $"{{\"mt\":\"LoginResult\",\"info\":{info},\"digest\":\"{MyAppsCrypto.LoginResultDigest(Domain, username, password, Nonce, Challenge, Encoding.UTF8.GetBytes(info))}\"}}";

    internal static string Redirect(string info, string username = "alice", string password = "secret") =>
        $"{{\"mt\":\"Redirect\",\"info\":{info},\"digest\":\"{MyAppsCrypto.RedirectDigest(username, password, Nonce, Challenge, Encoding.UTF8.GetBytes(info))}\"}}";

    /// <summary>A LoginInfoResult of a 13r3+ PBX offering these user methods (and session login).</summary>
    internal static string LoginInfoResult(bool digest = true, bool oauth2 = false, string? oauth2Name = null, bool ntlm = false) =>
        $"{{\"mt\":\"LoginInfoResult\",\"user\":{{\"digest\":{Json(digest)},\"ntlm\":{Json(ntlm)},\"oauth2\":{Json(oauth2)}"
        + (oauth2Name is null ? string.Empty : $",\"oauth2Name\":\"{oauth2Name}\"") + "},\"session\":{\"digest\":true}}";

    /// <summary>The PBX's answer to the OAuth2 Login: sign in at <paramref name="url"/>.</summary>
    internal static string OAuth2Authenticate(string url = SignInUrl) =>
        $"{{\"mt\":\"Authenticate\",\"type\":\"user\",\"method\":\"oauth2\",\"domain\":\"{Domain}\",\"url\":\"{url}\",\"challenge\":\"{Challenge}\"}}";

    /// <summary>A P-256 key pair from a fixed private key (hex) and its key share (X then Y, hex).</summary>
    internal static ECDiffieHellman KeyPair(string privateKey, string keyShare) => ECDiffieHellman.Create(new ECParameters
    {
        Curve = ECCurve.NamedCurves.nistP256,
        D = Convert.FromHexString(privateKey),
        Q = new ECPoint { X = Convert.FromHexString(keyShare[..64]), Y = Convert.FromHexString(keyShare[64..]) },
    });

    /// <summary>An <c>info.session</c> as a PBX encrypts it after a sign-in (the shared secret in place of the password).</summary>
    internal static string SignInSession(string secret, string id = "sso-sess-id", string password = "sso-sess-pw") =>
        $"{{\"usr\":\"{MyAppsCrypto.EncryptSessionPart("usr", Nonce, secret, id)}\",\"pwd\":\"{MyAppsCrypto.EncryptSessionPart("pwd", Nonce, secret, password)}\"}}";

    /// <summary>A LoginResult after a sign-in, its digest made with <paramref name="name"/> and the shared secret.</summary>
    internal static string SignInLoginResult(string info, string secret, string name = "alice") => LoginResult(info, name, secret);

    /// <summary>A Redirect after a sign-in, its digest made with <paramref name="name"/> and the shared secret.</summary>
    internal static string SignInRedirect(string info, string secret, string name = "alice@example.com") => Redirect(info, name, secret);

    private static string Json(bool value) => value ? "true" : "false";
}
