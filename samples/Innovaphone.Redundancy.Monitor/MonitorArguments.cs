using System.Globalization;
using Innovaphone.Redundancy;

namespace Innovaphone.Redundancy.Monitor;

/// <summary>The monitor's command line. Parsing never throws; a problem is a one-line message.</summary>
internal sealed record MonitorArguments
{
    public const string Usage =
        "usage: monitor --pbx <host[:port]/module> --user <sip> [--password-env <VAR>] [--phys <location>] " +
        "[--state-file <path>] [--insecure] [--build <n>] [--json]";

    public required PbxAddress Pbx { get; init; }

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
                    if (!PbxAddress.TryParse(value, out pbx))
                    {
                        error = $"--pbx '{value}' is not of the form host[:port]/module";
                        return false;
                    }

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

        if (pbx is null || string.IsNullOrWhiteSpace(user))
        {
            error = pbx is null ? "--pbx is required" : "--user is required";
            return false;
        }

        result = new MonitorArguments
        {
            Pbx = pbx,
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
