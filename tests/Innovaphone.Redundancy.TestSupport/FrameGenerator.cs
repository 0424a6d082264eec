using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Innovaphone.Redundancy.Transport.WebSockets;

namespace Innovaphone.Redundancy.TestSupport;

/// <summary>What the fuzzed PBX knows about the login in progress, so that it can sign answers (or forge them).</summary>
/// <param name="Type">The login type the client used (<c>user</c> or <c>session</c>).</param>
/// <param name="LoginName">The user name or session id.</param>
/// <param name="Password">The user password or session password.</param>
/// <param name="Nonce">The nonce of the client's digest Login, empty before it.</param>
/// <param name="Domain">The domain of the accepted Authenticate, empty before it.</param>
/// <param name="Challenge">The challenge of the accepted Authenticate, empty before it.</param>
/// <param name="KeyShare">After an OAuth2 Login: the PBX's key share (then <paramref name="Password"/> is the shared secret and <paramref name="LoginName"/> a name for info); else null.</param>
internal sealed record FuzzLoginContext(string Type, string LoginName, string Password, string Nonce, string Domain, string Challenge, string? KeyShare = null);

/// <summary>One generated server input: a text frame, or one of the events the socket shell turns non-text frames into.</summary>
internal enum FuzzInputKind
{
    Text,
    Binary,
    TooLarge,
    Closed,

    /// <summary>The shell's LoginInfo deadline passed (<see cref="Innovaphone.Redundancy.Transport.WebSockets.LoginDriver.OnLoginInfoTimeout"/>).</summary>
    LoginInfoDeadline,
}

/// <summary>A generated input and a label saying how it was made (printed on failure).</summary>
internal sealed record FuzzInput(FuzzInputKind Kind, byte[] Frame, string Label)
{
    /// <summary>The frame for a failure message: text as far as it is UTF-8, bounded, with its hex head for raw bytes.</summary>
    public string Describe()
    {
        var text = Encoding.UTF8.GetString(Frame);
        var shown = text.Length <= 600 ? text : text[..600] + $"... ({Frame.Length} bytes)";
        var hex = Convert.ToHexString(Frame.AsSpan(0, Math.Min(Frame.Length, 200)));
        return $"{Kind} [{Label}] {shown}\n  hex: {hex}";
    }
}

/// <summary>
/// Generates and mutates myApps server frames: valid messages (correctly signed with what the test knows), forged
/// ones, out-of-order ones, wrong types, missing fields, unknown <c>mt</c>, huge strings, deep nesting, invalid UTF-8,
/// invalid escapes, truncations and byte-level mutations. Deterministic for a given <see cref="Random"/>.
/// </summary>
internal sealed class FrameGenerator(Random random)
{
    /// <summary>The session a signed answer after a sign-in carries (secrets: never in a reason or note).</summary>
    public const string SignInSessionId = "fuzz-sso-id";

    /// <summary>The password of <see cref="SignInSessionId"/>.</summary>
    public const string SignInSessionPassword = "fuzz-sso-pw";

    private static readonly string[] KnownMts =
        ["Authenticate", "Authorize", "LoginResult", "Redirect", "LoginInfoResult", "StandbyBack", "LogoutResult", "Login", "UpdateOwnPresence"];

    private static readonly string[] InfoKeys =
        ["alt", "master", "standby", "altMaster", "session", "host", "mod", "https", "http", "usr", "pwd", "keyShare", "user", "sip", "email", "x", ""];

    private static readonly string[] Hosts =
        ["target.example.com", "127.0.0.2:8443", "h", "[::1]", "a.b:0", "a.b:99999", "bad host", "x/y", "host:", ":443", "\u00e4.example"];

    private readonly Random _random = random;

    /// <summary>The next server input for a login in <paramref name="context"/>.</summary>
    public FuzzInput Next(FuzzLoginContext context)
    {
        var roll = _random.Next(100);
        return roll switch
        {
            < 2 => new FuzzInput(FuzzInputKind.Binary, RandomBytes(16), "binary"),
            < 4 => new FuzzInput(FuzzInputKind.TooLarge, [], "too large"),
            < 5 => new FuzzInput(FuzzInputKind.Closed, [], "closed"),
            < 7 => new FuzzInput(FuzzInputKind.LoginInfoDeadline, [], "LoginInfo deadline"),
            < 45 => Text(Message(context, out var label), label),
            < 75 => Mutate(Message(context, out var label), label),
            < 85 => Text(Utf8(RandomValue(0)), "random JSON value"),
            < 91 => Text(DeepNesting(), "deep nesting"),
            < 92 => Text(HugeFrame(), "huge strings"),
            _ => Text(RandomBytes(_random.Next(0, 64)), "random bytes"),
        };
    }

    /// <summary>A text frame for after login: any message, mutated or not (never a binary/oversized event).</summary>
    public FuzzInput NextText(FuzzLoginContext context)
    {
        var input = Next(context);
        return input.Kind == FuzzInputKind.Text ? input : Text(Message(context, out var label), label);
    }

    private static FuzzInput Text(byte[] frame, string label) => new(FuzzInputKind.Text, frame, label);

    /// <summary>A well-formed (or nearly) message of a random type, signed correctly or not.</summary>
    private byte[] Message(FuzzLoginContext c, out string label)
    {
        switch (_random.Next(13))
        {
            case 0:
            case 1:
                label = "Authenticate";
                var oauth2 = c.KeyShare is not null;
                return Utf8(Object(
                    ("mt", Str("Authenticate")),
                    Maybe(("type", Str(Pick(c.Type, c.Type, "user", "session", "other")))),
                    Maybe(("method", Str(oauth2 ? Pick("oauth2", "oauth2", "digest", "Oauth2") : Pick("digest", "digest", "digest", "ntlm", "oauth2", "Digest")))),
                    Maybe(("domain", WrongTypeOr(Str(Pick("example.com", "", RandomString()))))),
                    _random.Next(oauth2 ? 6 : 3) == 0 ? default : ("url", WrongTypeOr(Str(Pick(
                        "https://idp.example.com/auth?client_id=x&state=y", "http://idp/", "ftp://idp/", "/relative", "", "javascript:x", "https://", RandomString())))),
                    Maybe(("challenge", WrongTypeOr(Str(RandomString()))))));
            case 12:
                label = "LoginInfoResult";
                return Utf8(Object(
                    ("mt", Str("LoginInfoResult")),
                    Maybe(("user", _random.Next(8) == 0 ? RandomValue(1) : Object(
                        Maybe(("digest", Pick("true", "false", "1", "\"true\"", "null"))),
                        Maybe(("oauth2", Pick("true", "false", "1", "null"))),
                        Maybe(("oauth2Name", WrongTypeOr(Str(Pick("Windows", "", RandomString()))))),
                        Maybe(("ntlm", Pick("true", "false")))))),
                    Maybe(("session", _random.Next(4) == 0 ? RandomValue(1) : Object(Maybe(("digest", Pick("true", "false", "0")))))),
                    _random.Next(6) == 0 ? ("error", Pick("1", "5", "-1", "\"x\"")) : default));
            case 2:
                label = "Authorize";
                return Utf8(Object(("mt", Str("Authorize")), Maybe(("code", Pick("1234", "0", "-1", "2147483648", "1.5", "\"12\"", "null", "1e3")))));
            case 3:
            case 4:
            case 5:
                return SignedAnswer(c, "LoginResult", out label);
            case 6:
            case 7:
            case 8:
                return SignedAnswer(c, "Redirect", out label);
            case 9:
                label = "LoginResult error";
                return Utf8(Object(
                    ("mt", Str("LoginResult")),
                    ("error", Pick("5", "5", "1", "0", "-7", "2147483647", "99999999999", "\"5\"", "5.0", "true")),
                    Maybe(("errorText", WrongTypeOr(Str(Pick("session expired", "", RandomString(), new string('E', _random.Next(1000, 200_000))))))),
                    Maybe(("info", RandomObject(1)))));
            case 10:
                label = "other mt";
                return Utf8(Object(("mt", Pick(Str(Pick(KnownMts)), Str(RandomString()), Str(""), "null", "17", "[]", "{}")), Maybe(("info", RandomObject(1)))));
            default:
                label = "no mt";
                return Utf8(Object(Maybe(("type", Str("user"))), Maybe(("info", RandomObject(1))), Maybe(("digest", Str(RandomHex(32))))));
        }
    }

    /// <summary>A LoginResult or Redirect whose digest is right, forged, missing or of the wrong formula.</summary>
    private byte[] SignedAnswer(FuzzLoginContext c, string mt, out string label)
    {
        var info = _random.Next(3) == 0 ? RandomObject(0) : TopologyInfo(c);
        var infoBytes = Encoding.UTF8.GetBytes(info);
        var isRedirect = mt == "Redirect";
        var right = isRedirect
            ? Digest($"innovaphoneAppClient:redirect:{c.LoginName}:{c.Password}:{c.Nonce}:{c.Challenge}:", infoBytes)
            : Digest($"innovaphoneAppClient:loginresult:{c.Domain}:{c.LoginName}:{c.Password}:{c.Nonce}:{c.Challenge}:", infoBytes);
        string? digest;
        (digest, label) = _random.Next(10) switch
        {
            0 or 1 or 2 => (right, "signed"),
            3 => (right.ToUpperInvariant(), "signed, upper case"),
            4 => (RandomHex(32), "random digest"),
            5 => (isRedirect
                ? Digest($"innovaphoneAppClient:loginresult:{c.Domain}:{c.LoginName}:{c.Password}:{c.Nonce}:{c.Challenge}:", infoBytes)
                : Digest($"innovaphoneAppClient:redirect:{c.LoginName}:{c.Password}:{c.Nonce}:{c.Challenge}:", infoBytes), "other formula"),
            6 => (Digest($"innovaphoneAppClient:loginresult:{c.Domain}:{c.LoginName}:guess:{c.Nonce}:{c.Challenge}:", infoBytes), "wrong password"),
            7 => (null, "no digest"),
            8 => (right[..^1] + (right[^1] == '0' ? '1' : '0'), "one nibble off"),
            _ => (Pick("", "zz", right + "00", right[..62], " " + right[1..]), "malformed digest"),
        };
        label = mt + ", " + label;

        // The digest is over the raw info text: re-spacing the info after signing must break it.
        if (_random.Next(8) == 0 && info.Length > 2)
        {
            info = "{ " + info[1..];
            label += ", info re-spaced after signing";
        }

        return Utf8(Object(("mt", Str(mt)), ("info", info), digest is null ? default : ("digest", _random.Next(20) == 0 ? "42" : Str(digest))));
    }

    /// <summary>An info with the fields the driver reads, with random (often hostile) values.</summary>
    private string TopologyInfo(FuzzLoginContext c)
    {
        var fields = new List<(string, string)>();
        var right = c.KeyShare is not null && _random.Next(2) == 0;
        if (c.KeyShare is not null)
        {
            // After a sign-in: the PBX's key share, a name to sign with, the session under the shared secret; half of
            // the time all right (with a usable host), else each field mostly right.
            if (right)
            {
                fields.Add(("host", Str(Pick(Hosts[..2]))));
            }

            if (right || _random.Next(8) != 0)
            {
                fields.Add(("keyShare", right || _random.Next(4) != 0 ? Str(c.KeyShare) : WrongTypeOr(Str(Pick(RandomHex(64), c.KeyShare[..^1] + "0", "", "zz")))));
            }

            if (right || _random.Next(6) != 0)
            {
                var name = Str(right ? c.LoginName : Pick(c.LoginName, c.LoginName, "mallory@example.com"));
                fields.Add(_random.Next(2) == 0 ? (Pick("sip", "email", "dn"), name) : ("user", Object((Pick("sip", "email", "dn"), name), Maybe(("guid", Str(RandomHex(8)))))));
            }

            if (right || _random.Next(5) != 0)
            {
                fields.Add(("session", Object(
                    ("usr", Str(right || _random.Next(8) != 0 ? MyAppsCrypto.EncryptSessionPart("usr", c.Nonce, c.Password, SignInSessionId) : RandomHex(9))),
                    right ? ("pwd", Str(MyAppsCrypto.EncryptSessionPart("pwd", c.Nonce, c.Password, SignInSessionPassword)))
                        : Maybe(("pwd", Str(MyAppsCrypto.EncryptSessionPart("pwd", c.Nonce, c.Password, SignInSessionPassword)))))));
            }
        }

        if (!right && _random.Next(2) == 0)
        {
            fields.Add(("host", WrongTypeOr(Str(Pick(Hosts) + (_random.Next(4) == 0 ? ":" + _random.Next(-5, 70000).ToString(CultureInfo.InvariantCulture) : string.Empty)))));
        }

        foreach (var key in new[] { "https", "http" })
        {
            if (_random.Next(3) == 0)
            {
                fields.Add((key, Pick("443", "8443", "0", "65536", "-1", "\"8080\"", "\"x\"", "null", "1.5")));
            }
        }

        foreach (var key in new[] { "mod", "alt", "master" })
        {
            if (_random.Next(3) == 0)
            {
                fields.Add((key, WrongTypeOr(Str(Pick("PBX0", "", "a/b", "standby.example.com/PBX0", "127.0.0.2:8443/PBX1", "http://x", RandomString())))));
            }
        }

        if (_random.Next(3) == 0)
        {
            fields.Add(("standby", Pick("true", "false", "\"yes\"", "1", "null")));
        }

        if (c.KeyShare is null && _random.Next(3) == 0)
        {
            fields.Add(("session", _random.Next(4) == 0
                ? RandomValue(1)
                : Object(
                    Maybe(("usr", WrongTypeOr(Str(Pick(RandomHex(9), RandomHex(0), "xyz", "abc", RandomString()))))),
                    Maybe(("pwd", WrongTypeOr(Str(Pick(RandomHex(9), "0", RandomString()))))))));
        }

        if (_random.Next(4) == 0)
        {
            fields.Add((RandomString(), RandomValue(1)));
        }

        Shuffle(fields);
        return Object([.. fields]);
    }

    /// <summary>A valid message broken in one of many ways.</summary>
    private FuzzInput Mutate(byte[] frame, string label)
    {
        var bytes = new List<byte>(frame);
        string how;
        switch (_random.Next(9))
        {
            case 0:
                var keep = bytes.Count == 0 ? 0 : _random.Next(bytes.Count);
                bytes.RemoveRange(keep, bytes.Count - keep);
                how = "truncated";
                break;
            case 1:
                for (var i = _random.Next(1, 4); i > 0 && bytes.Count > 0; i--)
                {
                    bytes[_random.Next(bytes.Count)] = (byte)_random.Next(256);
                }

                how = "bytes replaced";
                break;
            case 2:
                bytes.Insert(_random.Next(bytes.Count + 1), Pick<byte>(0xff, 0xc0, 0x80, 0xed, 0xf8, 0xfe));
                how = "invalid UTF-8 inserted";
                break;
            case 3:
                // Invalid UTF-8 inside a string, so that the JSON still tokenises: any string, a name or a value, at any
                // depth (the end of the frame's last string alone missed names inside info for most seeds).
                bytes.InsertRange(AnyStringEnd(bytes), Pick<byte[]>([0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf0, 0x90, 0x80]));
                how = "invalid UTF-8 in a string";
                break;
            case 4:
                bytes.InsertRange(AnyStringEnd(bytes), Encoding.ASCII.GetBytes(Pick("\\udc00", "\\ud800", "\\ud800\\u0041", "\\x", "\\u12", "\\u0000", "\n")));
                how = "bad escape in a string";
                break;
            case 5:
                var trailer = Pick("{}", " x", ",", "]", "\0", " ", "\n\n");
                bytes.AddRange(Encoding.UTF8.GetBytes(trailer));
                how = "trailing text";
                break;
            case 6:
                // Duplicate a known field: which info (or mt) did the PBX sign?
                var text = Encoding.UTF8.GetString(frame);
                var dup = Pick(",\"mt\":\"Redirect\"", ",\"info\":{\"host\":\"evil.example.com\"}", ",\"digest\":\"00\"", ",\"error\":5", ",\"challenge\":\"c\"");
                bytes = [.. Encoding.UTF8.GetBytes(text.EndsWith('}') ? text[..^1] + dup + "}" : text + dup)];
                how = "duplicated field";
                break;
            case 7:
                bytes.RemoveAt(bytes.Count == 0 ? 0 : _random.Next(bytes.Count));
                how = "byte deleted";
                break;
            default:
                var copy = bytes.ToArray();
                bytes.InsertRange(bytes.Count / 2, copy);
                how = "spliced";
                break;
        }

        return Text([.. bytes], label + ", " + how);
    }

    /// <summary>The position of the closing quote of a random string of the frame (name or value), 0 when it has none.</summary>
    private int AnyStringEnd(List<byte> bytes)
    {
        var ends = new List<int>();
        var inString = false;
        for (var i = 0; i < bytes.Count; i++)
        {
            if (inString && bytes[i] == (byte)'\\')
            {
                i++;
            }
            else if (bytes[i] == (byte)'"')
            {
                if (inString)
                {
                    ends.Add(i);
                }

                inString = !inString;
            }
        }

        return ends.Count == 0 ? 0 : ends[_random.Next(ends.Count)];
    }

    private byte[] DeepNesting()
    {
        var depth = Pick(10, 63, 64, 65, 200, 5000);
        var open = _random.Next(2) == 0 ? "[" : "{\"a\":";
        var close = open == "[" ? "]" : "}";
        var inner = string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, _random.Next(4) == 0 ? depth / 2 : depth));
        return Utf8(_random.Next(2) == 0
            ? "{\"mt\":\"" + Pick("LoginResult", "Redirect", "Authenticate") + "\",\"info\":{\"x\":" + inner + "},\"digest\":\"" + RandomHex(32) + "\"}"
            : "{\"mt\":\"Authenticate\",\"junk\":" + inner + "}");
    }

    private byte[] HugeFrame()
    {
        // Str escapes the quotes and backslashes, so the frame stays JSON however large.
        var huge = Str(new string(Pick('a', '\u00e4', '"', '\\'), _random.Next(10_000, 100_000)));
        return Utf8(_random.Next(3) switch
        {
            0 => $"{{\"mt\":{huge}}}",
            1 => $"{{\"mt\":\"Authenticate\",\"method\":\"digest\",\"domain\":{huge},\"challenge\":{huge}}}",
            _ => $"{{\"mt\":\"Redirect\",\"info\":{{\"host\":{huge}}},\"digest\":{huge}}}",
        });
    }

    private string RandomValue(int depth) => (depth > 3 ? _random.Next(5) : _random.Next(8)) switch
    {
        0 => Str(RandomString()),
        1 => Pick("0", "-1", "1e400", "123456789012345678901234567890", "0.5", "-0"),
        2 => Pick("true", "false"),
        3 => "null",
        4 => Str(Pick("", "\u0000", "\ud83d\ude00")),
        5 or 6 => RandomObject(depth + 1),
        _ => "[" + string.Join(",", Enumerable.Range(0, _random.Next(4)).Select(_ => RandomValue(depth + 1))) + "]",
    };

    private string RandomObject(int depth)
    {
        var count = _random.Next(0, 5);
        var fields = new (string, string)[count];
        for (var i = 0; i < count; i++)
        {
            fields[i] = (_random.Next(2) == 0 ? Pick(InfoKeys) : RandomString(), RandomValue(depth + 1));
        }

        return Object(fields);
    }

    /// <summary>A JSON object; entries with a null name are left out (optional fields not chosen).</summary>
    private static string Object(params (string Name, string Value)[] fields)
    {
        var builder = new StringBuilder("{");
        foreach (var (name, value) in fields)
        {
            if (name is null)
            {
                continue;
            }

            if (builder.Length > 1)
            {
                builder.Append(',');
            }

            builder.Append(Str(name)).Append(':').Append(value);
        }

        return builder.Append('}').ToString();
    }

    private (string, string) Maybe((string, string) field) => _random.Next(6) == 0 ? default : field;

    private string WrongTypeOr(string value) => _random.Next(10) == 0 ? Pick("null", "1", "true", "{}", "[\"a\"]") : value;

    private string RandomString()
    {
        var length = _random.Next(0, 24);
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = _random.Next(6) switch
            {
                0 => (char)_random.Next(0, 0x20),
                1 => Pick('"', '\\', '/', ':', '\u00e4', '\u20ac'),
                _ => (char)_random.Next(0x20, 0x7f),
            };
        }

        // Lone surrogates would not survive UTF-8 encoding; JSON-escaped ones are generated by Mutate instead.
        return new string(chars);
    }

    private string RandomHex(int bytes) => LowerHex.Of(RandomBytes(bytes));

    private byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        _random.NextBytes(bytes);
        return bytes;
    }

    private T Pick<T>(params T[] options) => options[_random.Next(options.Length)];

    private void Shuffle<T>(List<T> list)
    {
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    /// <summary>A JSON string literal (System.Text.Json escaping, so control characters and quotes are escaped).</summary>
    private static string Str(string value) => System.Text.Json.JsonSerializer.Serialize(value);

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static string Digest(string prefix, byte[] rawInfo)
    {
        var prefixBytes = Encoding.UTF8.GetBytes(prefix);
        var all = new byte[prefixBytes.Length + rawInfo.Length];
        prefixBytes.CopyTo(all, 0);
        rawInfo.CopyTo(all, prefixBytes.Length);
        return LowerHex.Of(SHA256.HashData(all));
    }
}
