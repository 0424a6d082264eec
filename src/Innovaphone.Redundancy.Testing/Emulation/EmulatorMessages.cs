using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Innovaphone.Redundancy.Transport.WebSockets;

namespace Innovaphone.Redundancy.Testing.Emulation;

/// <summary>The frames an emulated PBX sends (compact UTF-8 JSON, one object per frame), PROTOCOL.md from the PBX's side.</summary>
internal static class EmulatorMessages
{
    // As JavaScript's JSON.stringify writes strings (only quotes, backslashes and control characters escaped), so that a
    // client that verifies a digest over JSON.stringify(JSON.parse(info)), as innovaphone's published OAuth2 client
    // does, gets the bytes that were signed even for names with an apostrophe or an umlaut.
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] LoginInfoResult(SimulatedLoginMethods methods) => Write(w =>
    {
        w.WriteString("mt"u8, "LoginInfoResult"u8);
        w.WriteStartObject("user"u8);
        w.WriteBoolean("digest"u8, methods.UserDigest);
        w.WriteBoolean("ntlm"u8, false);
        w.WriteBoolean("oauth2"u8, methods.OAuth2);
        if (methods.OAuth2Name is { } name)
        {
            w.WriteString("oauth2Name"u8, name);
        }

        w.WriteEndObject();
        w.WriteStartObject("session"u8);
        w.WriteBoolean("digest"u8, true);
        w.WriteEndObject();
    });

    public static byte[] Authenticate(string type, string domain, string challenge) => Write(w =>
    {
        w.WriteString("mt"u8, "Authenticate"u8);
        w.WriteString("type"u8, type);
        w.WriteString("method"u8, "digest"u8);
        w.WriteString("domain"u8, domain);
        w.WriteString("challenge"u8, challenge);
    });

    /// <summary>The answer to an OAuth2 Login: the identity provider's sign-in page to open.</summary>
    public static byte[] AuthenticateOAuth2(string domain, Uri url, string challenge) => Write(w =>
    {
        w.WriteString("mt"u8, "Authenticate"u8);
        w.WriteString("type"u8, "user"u8);
        w.WriteString("method"u8, "oauth2"u8);
        w.WriteString("domain"u8, domain);
        w.WriteString("url"u8, url.AbsoluteUri);
        w.WriteString("challenge"u8, challenge);
    });

    public static byte[] Authorize(int code) => Write(w =>
    {
        w.WriteString("mt"u8, "Authorize"u8);
        w.WriteNumber("code"u8, code);
    });

    public static byte[] LoginError(int error, string text) => Write(w =>
    {
        w.WriteString("mt"u8, "LoginResult"u8);
        w.WriteNumber("error"u8, error);
        w.WriteString("errorText"u8, text);
    });

    /// <summary>LoginResult or Redirect: <c>{"mt":..,"info":&lt;raw info&gt;,"digest":..}</c> with the info bytes as signed.</summary>
    public static byte[] Signed(string mt, byte[] rawInfo, string digest) => Write(w =>
    {
        w.WriteString("mt"u8, mt);
        w.WritePropertyName("info"u8);
        w.WriteRawValue(rawInfo, skipInputValidation: true);
        w.WriteString("digest"u8, digest);
    });

    public static byte[] Mt(string mt) => Write(w => w.WriteString("mt"u8, mt));

    /// <summary>
    /// A LoginResult info: the user, the encrypted session (a user login or sign-in), the PBX's key share (a sign-in),
    /// the topology hints and the standby flag.
    /// </summary>
    public static byte[] LoginInfo(InfoUser user, SimulatedSession? session, string? keyShare, PbxLoginInfo topology, string nonce, string password) => Write(w =>
    {
        w.WriteStartObject("user"u8);
        w.WriteString("domain"u8, user.Domain);
        w.WriteString("sip"u8, user.User.Name);
        w.WriteString("guid"u8, user.User.Details.Guid);
        w.WriteString("dn"u8, user.User.Details.DisplayName);
        w.WriteString("num"u8, user.User.Details.Number);
        w.WriteString("email"u8, user.Email);
        w.WriteEndObject();
        WriteSession(w, session, keyShare, nonce, password);
        if (topology.Alternative is not null)
        {
            w.WriteString("alt"u8, topology.Alternative.ToString());
        }

        if (topology.Master is not null)
        {
            w.WriteString("master"u8, topology.Master.ToString());
        }

        if (topology.Standby is bool standby)
        {
            w.WriteBoolean("standby"u8, standby);
        }
    });

    /// <summary>
    /// A Redirect info naming <paramref name="target"/> the way innovaphone PBXes do: bare host, module, port by scheme.
    /// After a sign-in (<paramref name="signedIn"/>) also the user's names (the client checks the digest with each, having
    /// no user name of its own), the PBX's key share and the session for the target.
    /// </summary>
    public static byte[] RedirectInfo(PbxAddress target, string portField, (InfoUser User, SimulatedSession Session, string KeyShare, string Nonce, string Secret)? signedIn = null) => Write(w =>
    {
        w.WriteString("host"u8, target.Host);
        w.WriteString("mod"u8, target.Module);
        if (target.Port is int port)
        {
            w.WriteNumber(portField, port);
        }

        if (signedIn is var (user, session, keyShare, nonce, secret))
        {
            w.WriteString("sip"u8, user.User.Name);
            w.WriteString("email"u8, user.Email);
            w.WriteString("dn"u8, user.User.Details.DisplayName);
            WriteSession(w, session, keyShare, nonce, secret);
        }
    });

    /// <summary>
    /// <c>"session":{usr,pwd}</c>, RC4 under <c>innovaphoneAppClient:usr|pwd:&lt;nonce&gt;:&lt;password&gt;</c> as hex (the
    /// password is the ECDHE shared secret after a sign-in), then the PBX's <c>keyShare</c> after a sign-in.
    /// </summary>
    private static void WriteSession(Utf8JsonWriter w, SimulatedSession? session, string? keyShare, string nonce, string password)
    {
        if (session is not null)
        {
            w.WriteStartObject("session"u8);
            w.WriteString("usr"u8, MyAppsCrypto.EncryptSessionPart("usr", nonce, password, session.Id));
            w.WriteString("pwd"u8, MyAppsCrypto.EncryptSessionPart("pwd", nonce, password, session.Password));
            w.WriteEndObject();
        }

        if (keyShare is not null)
        {
            w.WriteString("keyShare"u8, keyShare);
        }
    }

    /// <summary>One compact JSON object, strings escaped as JavaScript does.</summary>
    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Not JSON: an object cut off after a property name.</summary>
    public static byte[] Malformed() => """{"mt":"Authenticate","type":"""u8.ToArray();

    /// <summary>A valid Authenticate padded to <paramref name="size"/> bytes (or a little more), so that only its size is wrong.</summary>
    public static byte[] Oversized(int size)
    {
        var head = "{\"mt\":\"Authenticate\",\"method\":\"digest\",\"pad\":\""u8;
        var tail = "\"}"u8;
        var padding = Math.Max(0, size - head.Length - tail.Length);
        var frame = new byte[head.Length + padding + tail.Length];
        head.CopyTo(frame);
        frame.AsSpan(head.Length, padding).Fill((byte)'x');
        tail.CopyTo(frame.AsSpan(head.Length + padding));
        return frame;
    }
}

/// <summary>The user as a PBX of <paramref name="Domain"/> describes them in <c>info.user</c>.</summary>
internal readonly record struct InfoUser(SimulatedUser User, string Domain)
{
    public string Email => User.Details.Email ?? $"{User.Name}@{Domain}";
}
