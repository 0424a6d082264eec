using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Innovaphone.Redundancy;

/// <summary>
/// Names one PBX module in the form used by myApps' connInfo: <c>host[:port]/module</c>,
/// for example <c>master.example.com/PBX0</c> or <c>127.0.0.2:8443/PBX0</c>.
/// </summary>
/// <remarks>
/// Host names compare case-insensitively (they are stored in lower case); the module name
/// is kept as given and compares case-sensitively, as PBX module names do in URLs.
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

        Host = host.ToLowerInvariant();
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
            error = "give no scheme";
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

    /// <summary>Splits <c>host[:port]</c> (IPv6 in brackets) into its parts.</summary>
    internal static bool TrySplitAuthority(string authority, out string host, out int? port, out string error)
    {
        host = authority;
        port = null;
        error = string.Empty;
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
