using System.Text;
using Innovaphone.Redundancy.Transport;
using Innovaphone.Redundancy.Transport.WebSockets;

namespace Innovaphone.Redundancy.Tests.Transport;

/// <summary>
/// The scripted PBX frames of <see cref="LoginDriverTests"/>, in a file of their own so that the integration tests
/// (WebSocket transport, post-login fuzz, secret leaks) compile in the same frames without these tests.
/// </summary>
public sealed partial class LoginDriverTests
{
    internal const string Nonce = "0123456789abcdef";
    internal const string Domain = "example.com";
    internal const string Challenge = "c0ffee1234";
    internal static readonly RandomBytesFiller PinnedRandom = b => Convert.FromHexString(Nonce).CopyTo(b);

    internal static string Authenticate(string type = "user") =>
        $"{{\"mt\":\"Authenticate\",\"type\":\"{type}\",\"method\":\"digest\",\"domain\":\"{Domain}\",\"challenge\":\"{Challenge}\"}}";

    internal static string LoginResult(string info, string username = "alice", string password = "secret") =>
        $"{{\"mt\":\"LoginResult\",\"info\":{info},\"digest\":\"{MyAppsCrypto.LoginResultDigest(Domain, username, password, Nonce, Challenge, Encoding.UTF8.GetBytes(info))}\"}}";

    internal static string Redirect(string info, string username = "alice", string password = "secret") =>
        $"{{\"mt\":\"Redirect\",\"info\":{info},\"digest\":\"{MyAppsCrypto.RedirectDigest(username, password, Nonce, Challenge, Encoding.UTF8.GetBytes(info))}\"}}";
}
