using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using Innovaphone.Redundancy.Hosting;
using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy.Monitor;

/// <summary>
/// The command line of <c>ipr-monitor</c> (System.CommandLine): options, help, usage errors and the exit codes. Every
/// check that needs no I/O happens while parsing, so a bad command line is a usage error (exit code 2) before anything
/// connects.
/// </summary>
internal sealed class MonitorCommandLine
{
    /// <summary>The command name the tool installs.</summary>
    public const string CommandName = "ipr-monitor";

    /// <summary>Exit code: stopped by Ctrl-C or SIGTERM.</summary>
    public const int Stopped = 0;

    /// <summary>Exit code: a usage error (bad or missing option, password variable not set, no state folder).</summary>
    public const int UsageError = 2;

    /// <summary>
    /// Exit code: the PBX rejected the login, offers no login method that fits (no password and no sign-in), or logged the
    /// session out (the manager is Faulted).
    /// </summary>
    public const int Faulted = 3;

    private readonly Option<string> _pbx = new("--pbx")
    {
        Description = "The PBX: the myApps URL from the browser (https://pbx.example.com/PBX0/APPCLIENT/130000/index.htm), " +
                      "host, host:port or host[:port]/module (module PBX0 when left out).",
        HelpName = "url|host[:port][/module]",
        Required = true,
    };

    private readonly Option<string> _user = new("--user")
    {
        Description = "The user's SIP name.",
        HelpName = "sip",
        Required = true,
    };

    private readonly Option<string> _passwordVariable = new("--password-env")
    {
        Description = "Take the password from this environment variable. The password is never a command-line argument.",
        HelpName = "variable",
    };

    private readonly Option<bool> _passwordFromStdin = new("--password-stdin")
    {
        Description = "Read the password as the first line of standard input (typed at a terminal: not echoed).",
    };

    // Only to answer it: a password on the command line would show in the shell history and the process list.
    private readonly Option<string> _password = new("--password") { Hidden = true };

    private readonly Option<bool> _sso = new("--sso")
    {
        Description = "Sign in through the installation's identity provider (OAuth2/SSO) when the PBX offers it: the sign-in " +
                      "URL is printed on stderr ('sign in: <url>'); open it in a browser. Without a password this is what " +
                      "happens anyway; with one, --sso uses it only where the PBX offers no sign-in.",
    };

    private readonly Option<bool> _keepSession = new("--keep-session")
    {
        Description = "Keep the myApps session in a file of its own (0600, beside the state file) so that a restart needs no " +
                      "new sign-in. The file holds a secret, like a password.",
    };

    private readonly Option<string> _sessionFile = new("--session-file")
    {
        Description = "Keep the myApps session in this file (implies --keep-session).",
        HelpName = "path",
    };

    private readonly Option<string> _phys = new("--phys")
    {
        Description = "The physical location to publish in connInfo (phys).",
        HelpName = "location",
    };

    private readonly Option<string> _stateFile = new("--state-file")
    {
        Description = "Keep primary, secondary and the user's PBX in this file. Default: one file per PBX and user " +
                      "in the per-user data folder (printed at start).",
        HelpName = "path",
    };

    private readonly Option<bool> _noStateFile = new("--no-state-file")
    {
        Description = "Keep no state between runs: a restart while the primary is down tries the primary alone.",
    };

    private readonly Option<bool> _insecure = new("--insecure")
    {
        Description = "Allow plain-text ws:// (an http:// URL, the loopback emulator). Default: wss:// only.",
    };

    private readonly Option<string[]> _trustThumbprint = new("--trust-thumbprint")
    {
        Description = "Trust a PBX certificate by its SHA-256 thumbprint (64 hex digits, colons allowed), as for the " +
                      "self-signed certificate a PBX ships with; repeat for more PBXes.",
        HelpName = "sha256",
        Arity = ArgumentArity.OneOrMore,
    };

    private readonly Option<int?> _build = new("--build")
    {
        Description = "The myApps build number sent at login.",
        HelpName = "number",
        Arity = ArgumentArity.ExactlyOne,
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var build) && build > 0)
            {
                return build;
            }

            result.AddError($"--build '{text}' is not a positive number.");
            return null;
        },
    };

    private readonly Option<bool> _json = new("--json")
    {
        Description = "stdout: one connInfo JSON object per line and nothing else (logs stay on stderr).",
    };

    private readonly Option<bool> _events = new("--events")
    {
        Description = "JSON lines as --json, plus one per state change ({\"type\":\"state\",...}).",
    };

    private readonly Option<LogLevel?> _logLevel = new("--log-level")
    {
        Description = "The least level logged on stderr (Trace, Debug, Information, Warning, Error, Critical, None). " +
                      "Default: Warning; Information adds every attempt, login and state change.",
        HelpName = "level",
    };

    public MonitorCommandLine()
    {
        _trustThumbprint.AllowMultipleArgumentsPerToken = false;
        _trustThumbprint.Validators.Add(result =>
        {
            foreach (var thumbprint in result.Tokens.Select(t => t.Value))
            {
                if (CertificateThumbprints.Normalize(thumbprint) is null)
                {
                    result.AddError($"--trust-thumbprint '{thumbprint}' is not a SHA-256 thumbprint (64 hex digits).");
                }
            }
        });
        _password.Validators.Add(result => result.AddError(
            "--password is not accepted: a password on the command line shows in the shell history and the process list. " +
            "Use --password-env <variable> or --password-stdin."));

        Command = new RootCommand(
            "Watches what the PBX failover logic of Innovaphone.Redundancy does against your PBX: one line per state " +
            "change and per connInfo change, until Ctrl-C. Exit codes: 0 stopped, 2 usage error, 3 login rejected, no " +
            "login method the PBX offers fits, or logged out.")
        {
            _pbx, _user, _passwordVariable, _passwordFromStdin, _password, _sso, _keepSession, _sessionFile, _phys, _stateFile, _noStateFile, _insecure,
            _trustThumbprint, _build, _json, _events, _logLevel,
        };
        // The same name in help whether it runs as the installed command or as `dotnet Innovaphone.Redundancy.Monitor.dll`.
        Command.HelpName = CommandName;
        Command.Validators.Add(Validate);
    }

    /// <summary>The root command (for help and tests).</summary>
    public RootCommand Command { get; }

    /// <summary>
    /// Parses <paramref name="args"/> and acts: help and version print and return 0, a usage error prints the errors
    /// and the help on stderr and returns 2, a good command line runs the monitor until <paramref name="stop"/>.
    /// </summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, MonitorConsole console, CancellationToken stop)
    {
        var commandLine = new MonitorCommandLine();
        var parsed = commandLine.Command.Parse(args);
        if (parsed.Action is ParseErrorAction)
        {
            // All of it on stderr: stdout, which scripts read, stays empty.
            await parsed.InvokeAsync(new InvocationConfiguration { Output = console.Error, Error = console.Error }, stop).ConfigureAwait(false);
            return UsageError;
        }

        if (parsed.Action is not null)
        {
            // --help, --version: System.CommandLine's own. The root command has no action: a good command line runs below.
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = console.Out, Error = console.Error }, stop).ConfigureAwait(false);
        }

        return await MonitorRun.RunAsync(commandLine.Bind(parsed), console, stop).ConfigureAwait(false);
    }

    /// <summary>The settings of a command line without errors.</summary>
    /// <exception cref="InvalidOperationException"><paramref name="parsed"/> has errors.</exception>
    public MonitorSettings Bind(ParseResult parsed)
    {
        if (parsed.Errors.Count > 0)
        {
            throw new InvalidOperationException("The command line has errors: " + string.Join(" ", parsed.Errors.Select(e => e.Message)));
        }

        var insecure = parsed.GetValue(_insecure);
        var pbx = PbxAddress.ParseInput(parsed.GetRequiredValue(_pbx), insecure ? PbxScheme.Ws : PbxScheme.Wss, out var scheme);
        var events = parsed.GetValue(_events);
        var json = parsed.GetValue(_json) || events;
        return new MonitorSettings
        {
            Pbx = pbx,
            Scheme = scheme,
            User = parsed.GetRequiredValue(_user),
            PasswordVariable = parsed.GetValue(_passwordVariable),
            PasswordFromStdin = parsed.GetValue(_passwordFromStdin),
            SingleSignOn = parsed.GetValue(_sso),
            KeepSession = parsed.GetValue(_keepSession) || parsed.GetValue(_sessionFile) is not null,
            SessionFile = parsed.GetValue(_sessionFile),
            Phys = parsed.GetValue(_phys),
            StateFile = parsed.GetValue(_stateFile),
            NoStateFile = parsed.GetValue(_noStateFile),
            Insecure = insecure,
            TrustedThumbprints = parsed.GetValue(_trustThumbprint) ?? [],
            Build = parsed.GetValue(_build),
            Json = json,
            Events = events,
            // Warning also for a person: the state and connInfo lines tell the story, the log would repeat it on the
            // same terminal; --log-level information brings it back.
            LogLevel = parsed.GetValue(_logLevel) ?? LogLevel.Warning,
        };
    }

    /// <summary>
    /// The value of <paramref name="option"/>, or its default when it is not given or has a parse error of its own (that
    /// error is reported already; GetValue would throw it).
    /// </summary>
    private static T? Value<T>(CommandResult result, Option<T> option)
    {
        try
        {
            return result.GetValue(option);
        }
        catch (InvalidOperationException)
        {
            return default;
        }
    }

    /// <summary>The checks that involve more than one option.</summary>
    private void Validate(CommandResult result)
    {
        var insecure = Value(result, _insecure);
        if (Value(result, _pbx) is { } pbxText)
        {
            if (!PbxAddress.TryParseInput(pbxText, insecure ? PbxScheme.Ws : PbxScheme.Wss, out _, out var scheme, out var problem))
            {
                result.AddError("--pbx " + problem);
            }
            else if (scheme == PbxScheme.Ws && !insecure)
            {
                // Plain text only when asked for: a URL copied from an http:// page does not opt in by itself.
                result.AddError($"--pbx '{pbxText}' is plain text (http://): add --insecure to allow it.");
            }
        }

        if (Value(result, _user) is { } user && string.IsNullOrWhiteSpace(user))
        {
            result.AddError("--user must not be empty.");
        }

        if (Value(result, _passwordVariable) is { } variable && string.IsNullOrWhiteSpace(variable))
        {
            result.AddError("--password-env needs the name of an environment variable.");
        }

        if (Value(result, _passwordVariable) is not null && Value(result, _passwordFromStdin))
        {
            result.AddError("--password-env and --password-stdin exclude each other: give one source of the password.");
        }

        if (Value(result, _stateFile) is not null && Value(result, _noStateFile))
        {
            result.AddError("--state-file and --no-state-file exclude each other.");
        }

        if (Value(result, _sessionFile) is { } sessionFile && string.IsNullOrWhiteSpace(sessionFile))
        {
            result.AddError("--session-file needs a path.");
        }

        if (Value(result, _stateFile) is { } stateFile && string.IsNullOrWhiteSpace(stateFile))
        {
            result.AddError("--state-file needs a path.");
        }
    }
}
