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
    /// Reads <c>alt</c>, <c>master</c>, <c>standby</c> and the encrypted <c>session</c> of a LoginResult info; the
    /// default port of <paramref name="scheme"/> is dropped from the hints.
    /// Unusable optional fields are ignored with a note; only a non-object info fails.
    /// </summary>
    public static bool TryRead(ReadOnlyMemory<byte> rawInfo, PbxScheme scheme, List<string> notes, out PbxLoginInfo info, out string? sessionUsr, out string? sessionPwd)
    {
        info = PbxLoginInfo.None;
        sessionUsr = null;
        sessionPwd = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(rawInfo);
        }
        catch (JsonException)
        {
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

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

            if (root.TryGetProperty("session", out var session) && session.ValueKind == JsonValueKind.Object)
            {
                sessionUsr = session.TryGetProperty("usr", out var usr) ? TextOrNull(usr) : null;
                sessionPwd = session.TryGetProperty("pwd", out var pwd) ? TextOrNull(pwd) : null;
            }

            info = new PbxLoginInfo(standby, alternative, master);
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
}
