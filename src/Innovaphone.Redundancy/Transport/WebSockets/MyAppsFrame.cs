using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>
/// The fields of one received myApps frame that the login and the redundancy logic read, plus the raw bytes of
/// <c>info</c> exactly as received (the digests are computed over them, PROTOCOL.md: never re-serialise).
/// </summary>
internal sealed class MyAppsFrame
{
    private MyAppsFrame(string mt)
    {
        Mt = mt;
    }

    /// <summary>The message type.</summary>
    public string Mt { get; }

    /// <summary>
    /// The <c>info</c> object's bytes exactly as received, or <see langword="null"/> when absent. Its strings and names
    /// decode: a frame with undecodable text anywhere does not parse.
    /// </summary>
    public ReadOnlyMemory<byte>? RawInfo { get; private set; }

    /// <summary><c>type</c> (Authenticate).</summary>
    public string? Type { get; private set; }

    /// <summary><c>method</c> (Authenticate).</summary>
    public string? Method { get; private set; }

    /// <summary><c>domain</c> (Authenticate).</summary>
    public string? Domain { get; private set; }

    /// <summary><c>challenge</c> (Authenticate).</summary>
    public string? Challenge { get; private set; }

    /// <summary><c>url</c> (Authenticate for OAuth2: the identity provider's sign-in page).</summary>
    public string? Url { get; private set; }

    /// <summary><c>digest</c> (LoginResult, Redirect).</summary>
    public string? Digest { get; private set; }

    /// <summary><c>code</c> (Authorize).</summary>
    public int? Code { get; private set; }

    /// <summary><c>error</c> (failed LoginResult).</summary>
    public int? Error { get; private set; }

    /// <summary><c>errorText</c> (failed LoginResult).</summary>
    public string? ErrorText { get; private set; }

    /// <summary>
    /// Parses one text frame. <paramref name="utf8"/> must stay unchanged while <see cref="RawInfo"/> is used:
    /// it is a slice of it. A frame with text that does not decode anywhere in it (invalid UTF-8, an escaped lone
    /// surrogate; in a name or a value, at any depth) fails: nothing that reads a parsed frame can meet such text.
    /// </summary>
    /// <param name="utf8">The frame's bytes.</param>
    /// <param name="frame">The parsed frame.</param>
    /// <param name="error">Why the frame is not a myApps message (no frame content beyond names).</param>
    public static bool TryParse(ReadOnlyMemory<byte> utf8, [NotNullWhen(true)] out MyAppsFrame? frame, [NotNullWhen(false)] out string? error)
    {
        frame = null;
        try
        {
            return TryParseCore(utf8, out frame, out error);
        }
        catch (JsonException e)
        {
            // The reader's message quotes the offending frame text (an invalid literal can run to the frame's end): bound it.
            var detail = e.Message.Length <= 200 ? e.Message : e.Message[..200] + "...";
            error = "malformed JSON (" + detail + ")";
            return false;
        }
    }

    private static bool TryParseCore(ReadOnlyMemory<byte> utf8, out MyAppsFrame? frame, out string? error)
    {
        frame = null;
        var reader = new Utf8JsonReader(utf8.Span, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            error = "the frame is not a JSON object";
            return false;
        }

        string? mt = null;
        ReadOnlyMemory<byte>? rawInfo = null;
        string? type = null, method = null, domain = null, challenge = null, url = null, digest = null, errorText = null;
        int? code = null, loginError = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);

        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (!JsonText.IsDecodable(ref reader))
            {
                error = Undecodable("a field name");
                return false;
            }

            var name = reader.GetString()!;
            reader.Read();

            // A repeated field would make the digest check ambiguous (which info was signed?): refuse it.
            if (IsKnown(name) && !seen.Add(name))
            {
                error = $"the field '{name}' appears twice";
                return false;
            }

            // Every value is checked here, all of it (info and unknown fields too): after this parser nothing can meet
            // undecodable text, neither the reads below nor MyAppsLoginInfo's JsonDocument over info.
            var valueType = reader.TokenType;
            var valueStart = (int)reader.TokenStartIndex;
            if (!JsonText.TrySkip(ref reader))
            {
                error = Undecodable(IsKnown(name) ? $"'{name}'" : "an unknown field");
                return false;
            }

            switch (name)
            {
                case "info":
                    if (valueType != JsonTokenType.StartObject)
                    {
                        error = "'info' is not an object";
                        return false;
                    }

                    rawInfo = utf8[valueStart..(int)reader.BytesConsumed];
                    break;
                case "mt":
                    mt = ReadString(ref reader, name);
                    break;
                case "type":
                    type = ReadString(ref reader, name);
                    break;
                case "method":
                    method = ReadString(ref reader, name);
                    break;
                case "domain":
                    domain = ReadString(ref reader, name);
                    break;
                case "challenge":
                    challenge = ReadString(ref reader, name);
                    break;
                case "url":
                    url = ReadString(ref reader, name);
                    break;
                case "digest":
                    digest = ReadString(ref reader, name);
                    break;
                case "errorText":
                    errorText = ReadString(ref reader, name);
                    break;
                case "code":
                    code = ReadInt(ref reader, name);
                    break;
                case "error":
                    loginError = ReadInt(ref reader, name);
                    break;
            }
        }

        // Anything after the object (other than whitespace) makes Read throw; a second value is not one frame.
        if (reader.Read())
        {
            error = "text after the JSON object";
            return false;
        }

        if (string.IsNullOrEmpty(mt))
        {
            error = "the frame has no 'mt'";
            return false;
        }

        frame = new MyAppsFrame(mt)
        {
            RawInfo = rawInfo,
            Type = type,
            Method = method,
            Domain = domain,
            Challenge = challenge,
            Url = url,
            Digest = digest,
            Code = code,
            Error = loginError,
            ErrorText = errorText,
        };
        error = null;
        return true;
    }

    /// <summary>Reads only <c>mt</c> (messages after login); <see langword="null"/> when the frame is not a JSON object with a string <c>mt</c>.</summary>
    public static string? TryReadMt(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isMt = reader.ValueTextEquals("mt"u8);
                reader.Read();
                if (isMt)
                {
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }

            return null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: GetString on invalid UTF-8 or an escaped lone surrogate. Not a myApps message
            // either way; it must not end the connection as if the socket had failed.
            return null;
        }
    }

    private static string Undecodable(string where) =>
        $"undecodable text in {where} (invalid UTF-8 or an escaped lone surrogate)";

    private static bool IsKnown(string name) =>
        name is "mt" or "info" or "type" or "method" or "domain" or "challenge" or "url" or "digest" or "errorText" or "code" or "error";

    private static string ReadString(ref Utf8JsonReader reader, string name) =>
        reader.TokenType == JsonTokenType.String
            ? reader.GetString()!
            : throw new JsonException($"'{name}' is not a string");

    private static int ReadInt(ref Utf8JsonReader reader, string name) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value)
            ? value
            : throw new JsonException($"'{name}' is not an integer");
}

/// <summary>Builds the messages this client sends (compact UTF-8 JSON, one object per frame).</summary>
internal static class MyAppsMessages
{
    /// <summary>Step 0: <c>{"mt":"LoginInfo"}</c>, which login methods the PBX offers.</summary>
    public static byte[] LoginInfo() => Write(w => w.WriteString("mt"u8, "LoginInfo"u8));

    /// <summary>Step 1: <c>{"mt":"Login","type":..,"userAgent":..}</c>, no credentials.</summary>
    public static byte[] Login(string type, string userAgent) => Write(w =>
    {
        w.WriteString("mt"u8, "Login"u8);
        w.WriteString("type"u8, type);
        w.WriteString("userAgent"u8, userAgent);
    });

    /// <summary>Step 3: <c>{"mt":"Login","type":..,"method":"digest","username":..,"nonce":..,"response":..,"userAgent":..}</c>.</summary>
    public static byte[] LoginDigest(string type, string username, string nonce, string response, string userAgent) => Write(w =>
    {
        w.WriteString("mt"u8, "Login"u8);
        w.WriteString("type"u8, type);
        w.WriteString("method"u8, "digest"u8);
        w.WriteString("username"u8, username);
        w.WriteString("nonce"u8, nonce);
        w.WriteString("response"u8, response);
        w.WriteString("userAgent"u8, userAgent);
    });

    /// <summary>
    /// The OAuth2 sign-in: <c>{"mt":"Login","type":"user","method":"oauth2","nonce":..,"keyShare":..,"userAgent":..}</c>
    /// (no credentials: the key share is the client's ephemeral public key).
    /// </summary>
    public static byte[] LoginOAuth2(string nonce, string keyShare, string userAgent) => Write(w =>
    {
        w.WriteString("mt"u8, "Login"u8);
        w.WriteString("type"u8, "user"u8);
        w.WriteString("method"u8, "oauth2"u8);
        w.WriteString("nonce"u8, nonce);
        w.WriteString("keyShare"u8, keyShare);
        w.WriteString("userAgent"u8, userAgent);
    });

    /// <summary>Writes one compact JSON object (also the emulator's server messages).</summary>
    public static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false }))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
