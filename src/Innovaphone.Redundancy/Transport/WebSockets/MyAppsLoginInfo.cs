using System.Globalization;
using System.Text.Json;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>
/// Reads the fields of a LoginResult's or Redirect's <c>info</c> that redundancy needs. The info is a parsed frame's
/// (<see cref="MyAppsFrame.RawInfo"/>): its strings and names decode (<see cref="JsonText"/>), so no JsonElement access
/// here can throw for undecodable text.
/// </summary>
internal static class MyAppsLoginInfo
{
    /// <summary>
    /// Reads <c>alt</c>, <c>master</c>, <c>standby</c>, the encrypted <c>session</c> and the <c>user</c> of a LoginResult
    /// info; the default port of <paramref name="scheme"/> is dropped from the hints.
    /// Unusable optional fields are ignored with a note; only a non-object info fails.
    /// </summary>
    public static bool TryRead(ReadOnlyMemory<byte> rawInfo, PbxScheme scheme, List<string> notes, out PbxLoginInfo info, out string? sessionUsr, out string? sessionPwd, out MyAppsUser? user)
    {
        info = PbxLoginInfo.None;
        sessionUsr = null;
        sessionPwd = null;
        user = null;
        if (ParseObject(rawInfo) is not { } document)
        {
            return false;
        }

        using (document)
        {
            var root = document.RootElement;

            var alternative = ReadAddress(root, "alt", scheme, notes);
            var master = ReadAddress(root, "master", scheme, notes);

            // ASSUMPTION (PROTOCOL.md "standby indication"): the PBX says it acts as standby with info.standby == true;
            // any non-boolean value counts as "not said" and leaves the decision to the manager's inference.
            bool? standby = null;
            if (root.TryGetProperty("standby", out var standbyElement))
            {
                if (standbyElement.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    standby = standbyElement.GetBoolean();
                }
                else
                {
                    notes.Add("info.standby is not a boolean; ignored");
                }
            }

            (sessionUsr, sessionPwd) = ReadSession(root);
            if (root.TryGetProperty("user", out var u) && u.ValueKind == JsonValueKind.Object)
            {
                user = new MyAppsUser
                {
                    Sip = Text(u, "sip"),
                    DisplayName = Text(u, "dn"),
                    Number = Text(u, "num"),
                    UserGuid = Text(u, "guid"),
                    Domain = Text(u, "domain"),
                    Email = Text(u, "email"),
                };
            }

            info = new PbxLoginInfo(standby, alternative, master);
            return true;
        }
    }

    /// <summary>
    /// Reads what an answer after an OAuth2 sign-in carries besides the topology: the PBX's <c>keyShare</c>, the
    /// encrypted <c>session</c>, and the user names its digest may be computed with (<c>sip</c>, <c>email</c>, <c>dn</c>
    /// of info itself, as innovaphone's client reads a Redirect, and of <c>info.user</c>, as a LoginResult carries them).
    /// </summary>
    /// <returns><see langword="false"/> when info is not a JSON object.</returns>
    public static bool TryReadSignIn(ReadOnlyMemory<byte> rawInfo, out string? keyShare, out List<string> names, out string? sessionUsr, out string? sessionPwd)
    {
        keyShare = sessionUsr = sessionPwd = null;
        names = [];
        if (ParseObject(rawInfo) is not { } document)
        {
            return false;
        }

        using (document)
        {
            var root = document.RootElement;

            keyShare = Text(root, "keyShare");
            (sessionUsr, sessionPwd) = ReadSession(root);
            var user = root.TryGetProperty("user", out var u) && u.ValueKind == JsonValueKind.Object ? u : root;
            string?[] candidates = [Text(root, "sip"), Text(user, "sip"), Text(root, "email"), Text(user, "email"), Text(root, "dn"), Text(user, "dn")];
            foreach (var name in candidates)
            {
                if (!string.IsNullOrEmpty(name) && !names.Contains(name))
                {
                    names.Add(name);
                }
            }

            return true;
        }
    }

    /// <summary>
    /// Reads a LoginInfoResult frame: which login methods the PBX offers. <see langword="false"/> when the frame has no
    /// <c>user</c> object (the PBX did not say); a flag that is missing or not a boolean counts as not offered.
    /// </summary>
    public static bool TryReadLoginMethods(ReadOnlyMemory<byte> frame, out LoginMethods methods)
    {
        methods = default;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(frame);
        }
        catch (JsonException)
        {
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("user", out var user) || user.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            var session = root.TryGetProperty("session", out var s) && s.ValueKind == JsonValueKind.Object ? s : default;
            methods = new LoginMethods(
                IsTrue(user, "digest"),
                IsTrue(user, "oauth2"),
                Text(user, "oauth2Name"),
                IsTrue(user, "ntlm"),
                session.ValueKind == JsonValueKind.Object && IsTrue(session, "digest"));
            return true;
        }
    }

    /// <summary>
    /// The PBX a Redirect points to (PROTOCOL.md): host from <c>info.host</c> (a <c>host:port</c> form is accepted),
    /// an IPv6 literal bracketed or bare (a bare one has no port: its last group cannot be told from a port),
    /// port from <c>info.https</c> (wss) or <c>info.http</c> (ws) else the current port, module from <c>info.mod</c>
    /// else the current module. The scheme never changes, so the port comes from the current scheme's field.
    /// </summary>
    public static bool TryResolveRedirectTarget(PbxAddress current, PbxScheme scheme, ReadOnlyMemory<byte> rawInfo, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PbxAddress? target, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
    {
        target = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(rawInfo);
        }
        catch (JsonException)
        {
            problem = "info is not valid JSON";
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            var hostText = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("host", out var hostElement) ? TextOrNull(hostElement) : null;
            if (string.IsNullOrWhiteSpace(hostText))
            {
                problem = "info.host is missing";
                return false;
            }

            if (!PbxAddress.TrySplitAuthority(hostText, out var host, out var port, out var error))
            {
                problem = "info.host is not a host name: " + error;
                return false;
            }

            // ASSUMPTION: a port given in info.host ("host:port") wins over info.https/info.http; innovaphone's client
            // never sees that form, emulators and tests use it.
            if (port is null)
            {
                var portField = scheme == PbxScheme.Wss ? "https" : "http";
                if (root.TryGetProperty(portField, out var portElement))
                {
                    if (!TryReadPort(portElement, out var fieldPort))
                    {
                        problem = $"info.{portField} is not a port";
                        return false;
                    }

                    port = fieldPort;
                }
                else
                {
                    port = current.Port;
                }
            }

            var module = current.Module;
            if (root.TryGetProperty("mod", out var modElement) && TextOrNull(modElement) is { Length: > 0 } mod)
            {
                module = mod;
            }

            // ASSUMPTION: the scheme's default port (443 for wss, 80 for ws) is left implicit, so that "host/PBX0" and a
            // redirect naming "host" with https 443 are the same PBX for the manager's loop detection.
            if ((scheme == PbxScheme.Wss && port == 443) || (scheme == PbxScheme.Ws && port == 80))
            {
                port = null;
            }

            try
            {
                target = new PbxAddress(host, module, port);
            }
            catch (ArgumentException)
            {
                problem = "info.mod is not a module name";
                return false;
            }

            problem = null;
            return true;
        }
    }

    private static (string? Usr, string? Pwd) ReadSession(JsonElement root) =>
        root.TryGetProperty("session", out var session) && session.ValueKind == JsonValueKind.Object
            ? (Text(session, "usr"), Text(session, "pwd"))
            : (null, null);

    private static string? Text(JsonElement obj, string name) => obj.TryGetProperty(name, out var element) ? TextOrNull(element) : null;

    private static bool IsTrue(JsonElement obj, string name) => obj.TryGetProperty(name, out var element) && element.ValueKind == JsonValueKind.True;

    private static bool TryReadPort(JsonElement element, out int port)
    {
        // ASSUMPTION: innovaphone writes ports as numbers; a numeric string is accepted too. 0 or out of range is not a port.
        port = 0;
        var ok = element.ValueKind switch
        {
            JsonValueKind.Number => element.TryGetInt32(out port),
            JsonValueKind.String => int.TryParse(TextOrNull(element), NumberStyles.None, CultureInfo.InvariantCulture, out port),
            _ => false,
        };
        return ok && port is >= 1 and <= 65535;
    }

    /// <summary>The string value, or <see langword="null"/> when the element is not a string.</summary>
    private static string? TextOrNull(JsonElement element) => element.ValueKind == JsonValueKind.String ? element.GetString() : null;

    private static PbxAddress? ReadAddress(JsonElement root, string name, PbxScheme scheme, List<string> notes)
    {
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var text = TextOrNull(element);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (PbxAddress.TryParse(text, out var address))
        {
            // The scheme's default port left implicit, as for redirect targets: "host:443/PBX0" under wss is "host/PBX0".
            return address.WithoutDefaultPort(scheme);
        }

        // An unusable topology hint must not fail a verified login; the manager just knows less.
        notes.Add($"info.{name} is not a PBX address of the form host[:port]/module; ignored");
        return null;
    }

    /// <summary>The info as a JSON document whose root is an object, or <see langword="null"/> (not JSON, or not an object).</summary>
    private static JsonDocument? ParseObject(ReadOnlyMemory<byte> rawInfo)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(rawInfo);
        }
        catch (JsonException)
        {
            return null;
        }

        if (document.RootElement.ValueKind == JsonValueKind.Object)
        {
            return document;
        }

        document.Dispose();
        return null;
    }
}

/// <summary>The login methods a PBX offers (LoginInfoResult, 13r3 and later).</summary>
/// <param name="UserDigest"><c>user.digest</c>: a user login with the password.</param>
/// <param name="UserOAuth2"><c>user.oauth2</c>: a user login by single sign-on at an identity provider.</param>
/// <param name="OAuth2Name"><c>user.oauth2Name</c>: the identity provider's name for the user (the PBX's text).</param>
/// <param name="UserNtlm"><c>user.ntlm</c>: a user login by NTLM (not implemented, docs/protocol.md A12).</param>
/// <param name="SessionDigest"><c>session.digest</c>: a login with a session.</param>
internal readonly record struct LoginMethods(bool UserDigest, bool UserOAuth2, string? OAuth2Name, bool UserNtlm, bool SessionDigest);
