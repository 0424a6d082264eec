using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy.Monitor;

/// <summary>What the command line asks for, checked: <see cref="MonitorCommandLine"/> builds it only from a command line without errors.</summary>
internal sealed record MonitorSettings
{
    /// <summary>The primary PBX (<c>--pbx</c>, parsed with <see cref="PbxAddress.TryParseInput"/>).</summary>
    public required PbxAddress Pbx { get; init; }

    /// <summary>The scheme: an http:// or https:// URL given as --pbx names it; otherwise --insecure gives Ws, else Wss.</summary>
    public PbxScheme Scheme { get; init; } = PbxScheme.Wss;

    /// <summary>The user's SIP name (<c>--user</c>).</summary>
    public required string User { get; init; }

    /// <summary>The environment variable that holds the password (<c>--password-env</c>); null: none.</summary>
    public string? PasswordVariable { get; init; }

    /// <summary>Read the password as the first line of standard input (<c>--password-stdin</c>).</summary>
    public bool PasswordFromStdin { get; init; }

    /// <summary>Sign in through the identity provider where the PBX offers it (<c>--sso</c>; implied without a password).</summary>
    public bool SingleSignOn { get; init; }

    /// <summary>Keep the myApps session in a file of its own (<c>--keep-session</c>, or <c>--session-file</c>).</summary>
    public bool KeepSession { get; init; }

    /// <summary>The session file (<c>--session-file</c>); null: the default file beside the state file, when <see cref="KeepSession"/>.</summary>
    public string? SessionFile { get; init; }

    /// <summary>The physical location for connInfo (<c>--phys</c>); null: none.</summary>
    public string? Phys { get; init; }

    /// <summary>The state file (<c>--state-file</c>); null: the default file of the primary and user, unless <see cref="NoStateFile"/>.</summary>
    public string? StateFile { get; init; }

    /// <summary>Keep no state between runs (<c>--no-state-file</c>).</summary>
    public bool NoStateFile { get; init; }

    /// <summary>Allow plain-text ws:// (<c>--insecure</c>).</summary>
    public bool Insecure { get; init; }

    /// <summary>SHA-256 thumbprints of PBX certificates to trust although the platform does not (<c>--trust-thumbprint</c>).</summary>
    public IReadOnlyList<string> TrustedThumbprints { get; init; } = [];

    /// <summary>The myApps build number sent at login (<c>--build</c>); null: the transport's default.</summary>
    public int? Build { get; init; }

    /// <summary>stdout carries JSON lines only (<c>--json</c>, or implied by <c>--events</c>).</summary>
    public bool Json { get; init; }

    /// <summary>Also write state changes as JSON lines (<c>--events</c>).</summary>
    public bool Events { get; init; }

    /// <summary>The minimum level of the log on stderr (<c>--log-level</c>; default Warning).</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Warning;
}
