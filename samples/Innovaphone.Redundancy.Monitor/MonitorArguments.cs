using System.Globalization;
using Innovaphone.Redundancy;
using Innovaphone.Redundancy.Transport;

namespace Innovaphone.Redundancy.Monitor;

/// <summary>The monitor's command line. Parsing never throws; a problem is a one-line message.</summary>
internal sealed record MonitorArguments
{
    public const string Usage =
        "usage: monitor --pbx <myApps URL | host[:port][/module]> --user <sip> [--password-env <VAR>] [--phys <location>] " +
        "[--state-file <path>] [--insecure] [--build <n>] [--json]";

    public required PbxAddress Pbx { get; init; }

    /// <summary>The scheme: an http:// or https:// URL given as --pbx names it; otherwise --insecure gives Ws, else Wss.</summary>
    public PbxScheme Scheme { get; init; }

    public required string User { get; init; }

    public string? PasswordVariable { get; init; }

    public string? Phys { get; init; }

    public string? StateFile { get; init; }

    public bool Insecure { get; init; }

    public int? Build { get; init; }

    public bool Json { get; init; }

    public static bool TryParse(IReadOnlyList<string> args, out MonitorArguments? result, out string? error)
    {
        result = null;
        error = null;
        PbxAddress? pbx = null;
        string? pbxText = null;
        string? user = null, passwordVariable = null, phys = null, stateFile = null;
        int? build = null;
        bool insecure = false, json = false;

        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            switch (name)
            {
                case "--insecure":
                    insecure = true;
                    continue;
                case "--json":
                    json = true;
                    continue;
                case "--pbx" or "--user" or "--password-env" or "--phys" or "--state-file" or "--build":
                    break;
                default:
                    error = $"unknown argument '{name}'";
                    return false;
            }

            if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                error = $"{name} needs a value";
                return false;
            }

            var value = args[++i];
            switch (name)
            {
                case "--pbx":
                    // Parsed once every argument is known: --insecure may come after it and decides the scheme of a non-URL.
                    pbxText = value;
                    break;
                case "--user": user = value; break;
                case "--password-env": passwordVariable = value; break;
                case "--phys": phys = value; break;
                case "--state-file": stateFile = value; break;
                case "--build":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var b) || b <= 0)
                    {
                        error = $"--build '{value}' is not a positive number";
                        return false;
                    }

                    build = b;
                    break;
            }
        }

        if (pbxText is null)
        {
            error = "--pbx is required";
            return false;
        }

        if (!PbxAddress.TryParseInput(pbxText, insecure ? PbxScheme.Ws : PbxScheme.Wss, out pbx, out var scheme, out var problem))
        {
            error = "--pbx " + problem;
            return false;
        }

        if (scheme == PbxScheme.Ws && !insecure)
        {
            // Plain text only when asked for, as with the options: a URL copied from an http:// page does not opt in by itself.
            error = $"--pbx '{pbxText}' is plain text (http://): add --insecure to allow it";
            return false;
        }

        if (string.IsNullOrWhiteSpace(user))
        {
            error = "--user is required";
            return false;
        }

        result = new MonitorArguments
        {
            Pbx = pbx,
            Scheme = scheme,
            User = user,
            PasswordVariable = passwordVariable,
            Phys = phys,
            StateFile = stateFile,
            Insecure = insecure,
            Build = build,
            Json = json,
        };
        return true;
    }
}
