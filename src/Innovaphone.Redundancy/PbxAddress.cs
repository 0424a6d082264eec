using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Innovaphone.Redundancy;

/// <summary>
/// Names one PBX module in the form used by myApps' connInfo: <c>host[:port]/module</c>,
/// for example <c>master.example.com/PBX0</c> or <c>127.0.0.2:8443/PBX0</c>.
/// </summary>
/// <remarks>
/// Host names compare case-insensitively (they are stored in lower case, IPv6 literals in their canonical form);
/// the module name is kept as given and compares case-sensitively, as PBX module names do in URLs.
/// <para>
/// An address carries no scheme, so equality compares the port as written: <c>host:443/PBX0</c> and
/// <c>host/PBX0</c> are different addresses. The places that know the scheme drop the scheme's default port
/// (443 for wss, 80 for ws) when they parse: <see cref="TryParseInput"/> and <see cref="TryParseUrl"/>, redirect
/// targets and the <c>alt</c>/<c>master</c> hints of the WebSocket transport, the hosting configuration and the
/// Monitor. Code that builds an address for <c>RedundancyOptions.Primary</c> itself uses <see cref="WithoutDefaultPort"/>.
/// </para>
/// </remarks>
public sealed class PbxAddress : IEquatable<PbxAddress>, IParsable<PbxAddress>
{
    /// <summary>The module name innovaphone PBXes use by default: <c>PBX0</c>.</summary>
    public const string DefaultModule = "PBX0";

    private static readonly System.Buffers.SearchValues<char> Ipv6Chars =
        System.Buffers.SearchValues.Create("0123456789abcdefABCDEF:.");

    private readonly string _text;

    /// <summary>Creates an address from its parts.</summary>
    /// <param name="host">DNS name, IPv4 address or bracketed IPv6 address; no scheme, user info or path.</param>
    /// <param name="module">The PBX module name (default <c>PBX0</c>).</param>
    /// <param name="port">An explicit TCP port, or <see langword="null"/> for the scheme's default.</param>
    /// <exception cref="ArgumentException">A part is empty or contains characters that cannot appear there.</exception>
    public PbxAddress(string host, string module = DefaultModule, int? port = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(module);
        if (!IsValidHost(host))
        {
            throw new ArgumentException($"'{host}' is not a valid PBX host name.", nameof(host));
        }

        if (!IsValidModule(module))
        {
            throw new ArgumentException($"'{module}' is not a valid PBX module name.", nameof(module));
        }

        if (port is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(port), port, "A port must be between 1 and 65535.");
        }

        Host = CanonicalHost(host);
        Module = module;
        Port = port;
        _text = port is int p
            ? string.Create(CultureInfo.InvariantCulture, $"{Host}:{p}/{Module}")
            : $"{Host}/{Module}";
    }

    /// <summary>The host name or address, in lower case.</summary>
    public string Host { get; }

    /// <summary>The explicit port, or <see langword="null"/> for the scheme's default port.</summary>
    public int? Port { get; }

    /// <summary>The PBX module name, for example <c>PBX0</c>.</summary>
    public string Module { get; }

    /// <summary>The host with the explicit port if there is one: <c>host[:port]</c>.</summary>
    public string Authority => Port is int p ? string.Create(CultureInfo.InvariantCulture, $"{Host}:{p}") : Host;

    /// <summary>Parses <c>host[:port]/module</c>.</summary>
    /// <exception cref="FormatException">The text is not of that form; the message says what is wrong.</exception>
    public static PbxAddress Parse(string s) => ParseCore(s);

    // Addresses do not depend on culture; the IParsable overloads exist for generic code only.
    static PbxAddress IParsable<PbxAddress>.Parse(string s, IFormatProvider? provider) => Parse(s);

    static bool IParsable<PbxAddress>.TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, [MaybeNullWhen(false)] out PbxAddress result) =>
        TryParse(s, out result, out _);

    /// <inheritdoc cref="Parse(string)"/>
    private static PbxAddress ParseCore(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        return TryParse(s, out var result, out var error)
            ? result
            : throw new FormatException($"'{s}' is not a PBX address of the form host[:port]/module: {error}");
    }

    /// <summary>Tries to parse <c>host[:port]/module</c>.</summary>
    public static bool TryParse([NotNullWhen(true)] string? s, [MaybeNullWhen(false)] out PbxAddress result) =>
        TryParse(s, out result, out _);

    /// <summary>The forms <see cref="TryParseInput"/> accepts, for error messages.</summary>
    internal const string AcceptedInputForms =
        "accepted: the myApps URL from the browser (https://host[:port]/module/..., http:// for plain text), " +
        "host, host:port, host[:port]/module; IPv6 as [address], [address]:port or a bare address";

    /// <summary>
    /// Parses the myApps URL as copied from the browser, for example
    /// <c>https://pbx.example.com/PBX0/APPCLIENT/130000/index.htm</c>: host, port and module (the first path
    /// segment; <c>PBX0</c> when the path is empty). <c>https</c> and <c>wss</c> give <see cref="PbxScheme.Wss"/>,
    /// <c>http</c> and <c>ws</c> give <see cref="PbxScheme.Ws"/>; the scheme's default port is dropped, so
    /// <c>https://host:443/PBX0</c> gives <c>host/PBX0</c>. Query and fragment are ignored.
    /// </summary>
    /// <param name="url">The URL.</param>
    /// <param name="address">The PBX the URL names.</param>
    /// <param name="scheme">The scheme the URL names.</param>
    /// <returns><see langword="false"/> when <paramref name="url"/> is no absolute http, https, ws or wss URL of a PBX.</returns>
    public static bool TryParseUrl([NotNullWhen(true)] string? url, [MaybeNullWhen(false)] out PbxAddress address, out PbxScheme scheme) =>
        TryParseUrlCore(url, out address, out scheme, out _);

    /// <summary>
    /// Parses a PBX in any form a user has it: the myApps URL (see <see cref="TryParseUrl"/>;
    /// its scheme replaces <paramref name="assumedScheme"/>), a bare host (module <c>PBX0</c>), <c>host:port</c>,
    /// <c>host[:port]/module</c>, or an IPv6 literal in brackets (with or without port) or bare (without port).
    /// The default port of the resulting scheme is dropped, so <c>host:443/PBX0</c> under wss gives <c>host/PBX0</c>.
    /// </summary>
    /// <param name="text">What the user gave.</param>
    /// <param name="assumedScheme">The scheme when <paramref name="text"/> is not a URL (the configured one).</param>
    /// <param name="address">The PBX.</param>
    /// <param name="scheme">The URL's scheme, else <paramref name="assumedScheme"/>.</param>
    /// <param name="error">When parsing fails: a message that quotes <paramref name="text"/> and lists the accepted forms.</param>
    public static bool TryParseInput(
        [NotNullWhen(true)] string? text,
        PbxScheme assumedScheme,
        [MaybeNullWhen(false)] out PbxAddress address,
        out PbxScheme scheme,
        [NotNullWhen(false)] out string? error)
    {
        scheme = assumedScheme;
        address = null;
        string reason;
        var trimmed = text?.Trim();
        if (string.IsNullOrEmpty(trimmed))
        {
            reason = "it is empty";
        }
        else if (trimmed.Contains("://", StringComparison.Ordinal))
        {
            if (TryParseUrlCore(trimmed, out address, out scheme, out reason))
            {
                error = null;
                return true;
            }

            scheme = assumedScheme;
        }
        else if (TryParseLenient(trimmed, out var parsed, out reason))
        {
            address = parsed.WithoutDefaultPort(assumedScheme);
            error = null;
            return true;
        }

        error = $"'{text}' is not a PBX: {reason}; {AcceptedInputForms}.";
        return false;
    }

    /// <summary>As <see cref="TryParseInput"/>, throwing.</summary>
    /// <param name="text">What the user gave.</param>
    /// <param name="assumedScheme">The scheme when <paramref name="text"/> is not a URL.</param>
    /// <param name="scheme">The URL's scheme, else <paramref name="assumedScheme"/>.</param>
    /// <exception cref="FormatException">The text is in none of the accepted forms; the message quotes it and lists them.</exception>
    public static PbxAddress ParseInput(string text, PbxScheme assumedScheme, out PbxScheme scheme) =>
        TryParseInput(text, assumedScheme, out var address, out scheme, out var error) ? address : throw new FormatException(error);

    /// <summary>
    /// This address without its port when the port is the default of <paramref name="scheme"/> (443 for wss, 80 for ws),
    /// so that it equals the address written without a port.
    /// </summary>
    /// <param name="scheme">The scheme the address is connected with.</param>
    public PbxAddress WithoutDefaultPort(PbxScheme scheme) => Port == DefaultPort(scheme) ? new PbxAddress(Host, Module) : this;

    /// <summary>The default TCP port of a scheme: 443 for wss, 80 for ws.</summary>
    internal static int DefaultPort(PbxScheme scheme) => scheme == PbxScheme.Ws ? 80 : 443;

    private static bool TryParseUrlCore(string? url, [MaybeNullWhen(false)] out PbxAddress address, out PbxScheme scheme, out string error)
    {
        address = null;
        scheme = PbxScheme.Wss;
        if (!Uri.TryCreate(url?.Trim(), UriKind.Absolute, out var uri))
        {
            error = "it is not a valid URL";
            return false;
        }

        switch (uri.Scheme)
        {
            case "https" or "wss":
                scheme = PbxScheme.Wss;
                break;
            case "http" or "ws":
                scheme = PbxScheme.Ws;
                break;
            default:
                error = $"the scheme '{uri.Scheme}' is none of https, http, wss, ws";
                return false;
        }

        if (uri.UserInfo.Length > 0)
        {
            error = "a URL of a PBX carries no user name or password";
            return false;
        }

        // The first path segment is the PBX module (the myApps URL continues with APPCLIENT/<build>/index.htm).
        var path = uri.AbsolutePath.TrimStart('/');
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        var module = slash < 0 ? path : path[..slash];
        if (module.Length == 0)
        {
            module = DefaultModule;
        }

        if (!IsValidModule(module))
        {
            error = $"the first path segment '{module}' is not a PBX module name";
            return false;
        }

        if (!IsValidHost(uri.Host))
        {
            error = $"'{uri.Host}' is not a valid host name";
            return false;
        }

        var port = uri.IsDefaultPort || uri.Port < 1 || uri.Port == DefaultPort(scheme) ? (int?)null : uri.Port;
        address = new PbxAddress(uri.Host, module, port);
        error = string.Empty;
        return true;
    }

    // host, host:port, host[:port]/module, [v6][:port][/module], bare v6: the module defaults to PBX0.
    private static bool TryParseLenient(string s, [MaybeNullWhen(false)] out PbxAddress result, out string error)
    {
        result = null;
        var slash = s.IndexOf('/', StringComparison.Ordinal);
        var authority = slash < 0 ? s : s[..slash];
        var module = slash < 0 ? DefaultModule : s[(slash + 1)..];
        if (!IsValidModule(module))
        {
            error = $"'{module}' is not a module name (letters, digits, '-', '_' or '.'; nothing after it)";
            return false;
        }

        if (!TrySplitAuthority(authority, out var host, out var port, out error))
        {
            return false;
        }

        result = new PbxAddress(host, module, port);
        return true;
    }

    private static bool TryParse(string? s, [MaybeNullWhen(false)] out PbxAddress result, out string error)
    {
        result = null;
        if (string.IsNullOrWhiteSpace(s))
        {
            error = "it is empty";
            return false;
        }

        if (s.Contains("://", StringComparison.Ordinal))
        {
            error = "give no scheme (ParseInput and TryParseUrl take URLs)";
            return false;
        }

        var slash = s.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            error = "the '/module' part is missing";
            return false;
        }

        var authority = s[..slash];
        var module = s[(slash + 1)..];
        if (!IsValidModule(module))
        {
            error = "the module name must be letters, digits, '-', '_' or '.'";
            return false;
        }

        if (!TrySplitAuthority(authority, out var host, out var port, out error))
        {
            return false;
        }

        result = new PbxAddress(host, module, port);
        return true;
    }

    /// <summary>
    /// Splits <c>host[:port]</c> (IPv6 in brackets) into its parts. A bare IPv6 literal (two colons or more, no
    /// brackets) is a host without port, returned in brackets: its last group cannot be told from a port.
    /// </summary>
    internal static bool TrySplitAuthority(string authority, out string host, out int? port, out string error)
    {
        host = authority;
        port = null;
        error = string.Empty;
        if (authority.Length > 0 && authority[0] != '[' && authority.AsSpan().Count(':') >= 2)
        {
            if (!System.Net.IPAddress.TryParse(authority, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                error = $"'{authority}' is neither host:port nor an IPv6 address";
                return false;
            }

            host = "[" + authority + "]";
            if (!IsValidHost(host))
            {
                error = $"'{authority}' is not an IPv6 address without zone";
                return false;
            }

            return true;
        }
        var colon = authority.LastIndexOf(':');
        var closingBracket = authority.LastIndexOf(']');
        if (colon > closingBracket)
        {
            var portText = authority[(colon + 1)..];
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
            {
                error = $"'{portText}' is not a port between 1 and 65535";
                return false;
            }

            host = authority[..colon];
            port = p;
        }

        if (!IsValidHost(host))
        {
            error = $"'{host}' is not a valid host name";
            return false;
        }

        return true;
    }

    // Lower case; an IPv6 literal in its canonical text, so that [2001:DB8:0::1] and [2001:db8::1] are one PBX.
    private static string CanonicalHost(string host) =>
        host[0] == '[' && System.Net.IPAddress.TryParse(host.AsSpan(1, host.Length - 2), out var v6) &&
        v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? "[" + v6.ToString() + "]"
            : host.ToLowerInvariant();

    private static bool IsValidHost(string host)
    {
        if (host.Length is 0 or > 253)
        {
            return false;
        }

        if (host[0] == '[')
        {
            return host[^1] == ']' && host.Length > 2 &&
                   host.AsSpan(1, host.Length - 2).IndexOfAnyExcept(Ipv6Chars) < 0;
        }

        foreach (var c in host)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'))
            {
                return false;
            }
        }

        return host[0] != '.' && host[0] != '-';
    }

    private static bool IsValidModule(string module)
    {
        if (module.Length is 0 or > 64)
        {
            return false;
        }

        foreach (var c in module)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Formats as <c>host[:port]/module</c>, the connInfo form.</summary>
    public override string ToString() => _text;

    /// <inheritdoc/>
    public bool Equals(PbxAddress? other) => other is not null && string.Equals(_text, other._text, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as PbxAddress);

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_text);

    /// <summary>Compares two addresses for equality.</summary>
    public static bool operator ==(PbxAddress? left, PbxAddress? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Compares two addresses for inequality.</summary>
    public static bool operator !=(PbxAddress? left, PbxAddress? right) => !(left == right);
}
