using Innovaphone.Redundancy.Transport.WebSockets;

namespace Innovaphone.Redundancy.Testing.Emulation;

/// <summary>The frames an emulated PBX sends (compact UTF-8 JSON, one object per frame), PROTOCOL.md from the PBX's side.</summary>
internal static class EmulatorMessages
{
    public static byte[] LoginInfoResult() => MyAppsMessages.Write(w =>
    {
        w.WriteString("mt"u8, "LoginInfoResult"u8);
        w.WriteStartObject("user"u8);
        w.WriteBoolean("digest"u8, true);
        w.WriteBoolean("ntlm"u8, false);
        w.WriteBoolean("oauth2"u8, false);
        w.WriteEndObject();
        w.WriteStartObject("session"u8);
        w.WriteBoolean("digest"u8, true);
        w.WriteEndObject();
    });

    public static byte[] Authenticate(string type, string domain, string challenge) => MyAppsMessages.Write(w =>
    {
        w.WriteString("mt"u8, "Authenticate"u8);
        w.WriteString("type"u8, type);
        w.WriteString("method"u8, "digest"u8);
        w.WriteString("domain"u8, domain);
        w.WriteString("challenge"u8, challenge);
    });

    public static byte[] Authorize(int code) => MyAppsMessages.Write(w =>
    {
        w.WriteString("mt"u8, "Authorize"u8);
        w.WriteNumber("code"u8, code);
    });

    public static byte[] LoginError(int error, string text) => MyAppsMessages.Write(w =>
    {
        w.WriteString("mt"u8, "LoginResult"u8);
        w.WriteNumber("error"u8, error);
        w.WriteString("errorText"u8, text);
    });

    /// <summary>LoginResult or Redirect: <c>{"mt":..,"info":&lt;raw info&gt;,"digest":..}</c> with the info bytes as signed.</summary>
    public static byte[] Signed(string mt, byte[] rawInfo, string digest) => MyAppsMessages.Write(w =>
    {
        w.WriteString("mt"u8, mt);
        w.WritePropertyName("info"u8);
        w.WriteRawValue(rawInfo, skipInputValidation: true);
        w.WriteString("digest"u8, digest);
    });

    public static byte[] Mt(string mt) => MyAppsMessages.Write(w => w.WriteString("mt"u8, mt));

    /// <summary>
    /// A LoginResult info: the encrypted session (user logins only), the topology hints and the standby flag.
    /// Session parts are RC4 under <c>innovaphoneAppClient:usr|pwd:&lt;nonce&gt;:&lt;password&gt;</c>, as hex.
    /// </summary>
    public static byte[] LoginInfo(PbxLoginInfoParts parts, string nonce, string password) => MyAppsMessages.Write(w =>
    {
        if (parts.SessionId is not null && parts.SessionPassword is not null)
        {
            w.WriteStartObject("session"u8);
            w.WriteString("usr"u8, MyAppsCrypto.EncryptSessionPart("usr", nonce, password, parts.SessionId));
            w.WriteString("pwd"u8, MyAppsCrypto.EncryptSessionPart("pwd", nonce, password, parts.SessionPassword));
            w.WriteEndObject();
        }

        if (parts.Alternative is not null)
        {
            w.WriteString("alt"u8, parts.Alternative.ToString());
        }

        if (parts.Master is not null)
        {
            w.WriteString("master"u8, parts.Master.ToString());
        }

        if (parts.Standby is bool standby)
        {
            w.WriteBoolean("standby"u8, standby);
        }
    });

    /// <summary>A Redirect info naming <paramref name="target"/> the way innovaphone PBXes do: bare host, module, port by scheme.</summary>
    public static byte[] RedirectInfo(PbxAddress target, string portField) => MyAppsMessages.Write(w =>
    {
        w.WriteString("host"u8, target.Host);
        w.WriteString("mod"u8, target.Module);
        if (target.Port is int port)
        {
            w.WriteNumber(portField, port);
        }
    });

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

/// <summary>What goes into a LoginResult info.</summary>
internal readonly record struct PbxLoginInfoParts(
    string? SessionId, string? SessionPassword, PbxAddress? Alternative, PbxAddress? Master, bool? Standby);
