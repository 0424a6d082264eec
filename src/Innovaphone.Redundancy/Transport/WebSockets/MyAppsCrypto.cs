using System.Security.Cryptography;
using System.Text;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>
/// The myApps login cryptography (PROTOCOL.md "Login" and "Session credentials"): pure functions, no state.
/// </summary>
internal static class MyAppsCrypto
{
    /// <summary>The prefix of every digest input and RC4 key.</summary>
    private const string Prefix = "innovaphoneAppClient";

    /// <summary>Bytes of randomness in a nonce; the nonce is their lowercase hex (16 characters).</summary>
    internal const int NonceBytes = 8;

    /// <summary>
    /// The Login <c>response</c>: SHA-256 hex of <c>innovaphoneAppClient:&lt;type&gt;:&lt;domain&gt;:&lt;username&gt;:&lt;password&gt;:&lt;nonce&gt;:&lt;challenge&gt;</c>.
    /// </summary>
    public static string LoginResponse(string type, string domain, string username, string password, string nonce, string challenge) =>
        Sha256Hex($"{Prefix}:{type}:{domain}:{username}:{password}:{nonce}:{challenge}", ReadOnlySpan<byte>.Empty);

    /// <summary>
    /// The expected LoginResult <c>digest</c>: SHA-256 hex of
    /// <c>innovaphoneAppClient:loginresult:&lt;domain&gt;:&lt;username&gt;:&lt;password&gt;:&lt;nonce&gt;:&lt;challenge&gt;:&lt;info&gt;</c>,
    /// where <paramref name="rawInfo"/> is the info value's bytes exactly as received.
    /// </summary>
    public static string LoginResultDigest(string domain, string username, string password, string nonce, string challenge, ReadOnlySpan<byte> rawInfo) =>
        Sha256Hex($"{Prefix}:loginresult:{domain}:{username}:{password}:{nonce}:{challenge}:", rawInfo);

    /// <summary>
    /// The expected Redirect <c>digest</c>: SHA-256 hex of
    /// <c>innovaphoneAppClient:redirect:&lt;username&gt;:&lt;password&gt;:&lt;nonce&gt;:&lt;challenge&gt;:&lt;info&gt;</c> (no domain).
    /// </summary>
    public static string RedirectDigest(string username, string password, string nonce, string challenge, ReadOnlySpan<byte> rawInfo) =>
        Sha256Hex($"{Prefix}:redirect:{username}:{password}:{nonce}:{challenge}:", rawInfo);

    /// <summary>
    /// Compares a received digest with the expected one in constant time (hex case-insensitively), so that the time
    /// taken tells an attacker nothing about how much of a forged digest was right.
    /// </summary>
    public static bool DigestMatches(string expectedHex, string? receivedHex)
    {
        if (receivedHex is null || receivedHex.Length != expectedHex.Length)
        {
            return false;
        }

        byte[] received;
        try
        {
            received = Convert.FromHexString(receivedHex);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Convert.FromHexString(expectedHex), received);
    }

    /// <summary>A fresh login nonce: 8 bytes from <paramref name="random"/> as 16 lowercase hex characters.</summary>
    public static string NewNonce(RandomBytesFiller random)
    {
        Span<byte> bytes = stackalloc byte[NonceBytes];
        random(bytes);
        return ToLowerHex(bytes);
    }

    /// <summary>
    /// Decrypts one half of <c>info.session</c>: RC4 with key <c>innovaphoneAppClient:&lt;part&gt;:&lt;nonce&gt;:&lt;password&gt;</c>
    /// (<paramref name="part"/> is <c>usr</c> or <c>pwd</c>) over the hex-decoded value; the plain text is UTF-8.
    /// </summary>
    /// <returns><see langword="null"/> when <paramref name="hex"/> is not valid hex or the result not valid UTF-8.</returns>
    public static string? DecryptSessionPart(string part, string nonce, string password, string hex)
    {
        byte[] data;
        try
        {
            data = Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return null;
        }

        var key = SessionKey(part, nonce, password);
        Rc4(key, data);
        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(data);
        }
        catch (ArgumentException)
        {
            return null;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(data);
        }
    }

    /// <summary>The server side of <see cref="DecryptSessionPart"/> (used by the PBX emulator): RC4 over UTF-8, as lowercase hex.</summary>
    public static string EncryptSessionPart(string part, string nonce, string password, string plain)
    {
        var key = SessionKey(part, nonce, password);
        var data = Encoding.UTF8.GetBytes(plain);
        Rc4(key, data);
        CryptographicOperations.ZeroMemory(key);
        return ToLowerHex(data);
    }

    /// <summary>Bytes of one coordinate of a P-256 point; a key share is both coordinates (64 bytes, 128 hex characters).</summary>
    internal const int KeyShareCoordinateBytes = 32;

    /// <summary>
    /// A fresh ECDHE key pair on P-256 (the platform's implementation) for one OAuth2 login. The caller disposes it
    /// once the shared secret is derived.
    /// </summary>
    public static ECDiffieHellman NewKeyPair() => ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>
    /// The <c>keyShare</c> of a key pair: the uncompressed public point without its 0x04 prefix, X then Y, as 128
    /// lowercase hex characters.
    /// </summary>
    public static string KeyShare(ECDiffieHellman keyPair)
    {
        ArgumentNullException.ThrowIfNull(keyPair);
        var point = keyPair.ExportParameters(includePrivateParameters: false).Q;
        return ToLowerHex([.. point.X!, .. point.Y!]);
    }

    /// <summary>
    /// The ECDHE shared secret with the peer's <c>keyShare</c> (128 hex characters: X then Y of a P-256 point), as
    /// 64 lowercase hex characters (the X coordinate of the shared point, as OpenSSL and Node's <c>computeSecret</c>
    /// give it). This hex text takes the place of the password in the OAuth2 session keys and Redirect digest.
    /// </summary>
    /// <returns><see langword="null"/> when <paramref name="peerKeyShareHex"/> is not hex of the right length or not a point of the curve.</returns>
    public static string? SharedSecret(ECDiffieHellman keyPair, string? peerKeyShareHex)
    {
        ArgumentNullException.ThrowIfNull(keyPair);
        if (peerKeyShareHex is null || peerKeyShareHex.Length != 4 * KeyShareCoordinateBytes)
        {
            return null;
        }

        byte[] peer;
        try
        {
            peer = Convert.FromHexString(peerKeyShareHex);
        }
        catch (FormatException)
        {
            return null;
        }

        var parameters = new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = peer[..KeyShareCoordinateBytes], Y = peer[KeyShareCoordinateBytes..] },
        };
        try
        {
            using var peerKey = ECDiffieHellman.Create(parameters);
            var secret = keyPair.DeriveRawSecretAgreement(peerKey.PublicKey);
            try
            {
                return ToLowerHex(secret);
            }
            finally
            {
                CryptographicOperations.ZeroMemory(secret);
            }
        }
        catch (CryptographicException)
        {
            // Not a point on P-256 (or the identity): no secret can come of it.
            return null;
        }
    }

    private static byte[] SessionKey(string part, string nonce, string password) =>
        Encoding.UTF8.GetBytes($"{Prefix}:{part}:{nonce}:{password}");

    /// <summary>RC4 (ARC4) in place: encrypts and decrypts alike. Only for the myApps session fields; RC4 is otherwise broken.</summary>
    public static void Rc4(ReadOnlySpan<byte> key, Span<byte> data)
    {
        if (key.IsEmpty)
        {
            throw new ArgumentException("The RC4 key must not be empty.", nameof(key));
        }

        Span<byte> s = stackalloc byte[256];
        for (var i = 0; i < 256; i++)
        {
            s[i] = (byte)i;
        }

        for (int i = 0, j = 0; i < 256; i++)
        {
            j = (j + s[i] + key[i % key.Length]) & 0xff;
            (s[i], s[j]) = (s[j], s[i]);
        }

        for (int n = 0, i = 0, j = 0; n < data.Length; n++)
        {
            i = (i + 1) & 0xff;
            j = (j + s[i]) & 0xff;
            (s[i], s[j]) = (s[j], s[i]);
            data[n] ^= s[(s[i] + s[j]) & 0xff];
        }
    }

    /// <summary>Lowercase hex, as the protocol's digests and nonces are written.</summary>
    public static string ToLowerHex(ReadOnlySpan<byte> bytes)
    {
#if NET9_0_OR_GREATER
        return Convert.ToHexStringLower(bytes);
#else
        return string.Create(bytes.Length * 2, bytes.ToArray(), static (chars, b) =>
        {
            const string Digits = "0123456789abcdef";
            for (var i = 0; i < b.Length; i++)
            {
                chars[2 * i] = Digits[b[i] >> 4];
                chars[(2 * i) + 1] = Digits[b[i] & 0xf];
            }
        });
#endif
    }

    private static string Sha256Hex(string text, ReadOnlySpan<byte> rawSuffix)
    {
        // Hash the text and the raw info bytes in sequence: the info is never decoded and re-encoded.
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var textBytes = Encoding.UTF8.GetBytes(text);
        hash.AppendData(textBytes);
        hash.AppendData(rawSuffix);
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);

        // The text holds the password: do not leave it lying in memory longer than needed.
        CryptographicOperations.ZeroMemory(textBytes);
        return ToLowerHex(digest);
    }
}
