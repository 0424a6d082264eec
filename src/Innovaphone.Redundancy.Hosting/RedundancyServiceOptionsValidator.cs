using Innovaphone.Redundancy.Transport;
using Microsoft.Extensions.Options;

namespace Innovaphone.Redundancy.Hosting;

/// <summary>
/// Checks <see cref="RedundancyServiceOptions"/> at host start (ValidateOnStart) and names every bad configuration key
/// in its message. The manager's own ranges are checked by <see cref="RedundancyOptions.Validate"/> itself, so that
/// the two cannot drift; the transport's checks are repeated here because the transport only checks when it is made.
/// Messages carry the names of keys and never the value of a secret.
/// </summary>
internal sealed class RedundancyServiceOptionsValidator : IValidateOptions<RedundancyServiceOptions>
{
    private readonly string? _sectionPath;
    private readonly Func<bool> _customTransport;
    private readonly Func<bool> _customStore;
    private readonly Func<string?> _defaultDirectory;

    /// <param name="sectionPath">The configuration section the options are bound from, or <see langword="null"/> when they are configured in code.</param>
    /// <param name="customTransport">Whether an <see cref="IPbxTransport"/> is registered, which makes the transport settings irrelevant.</param>
    /// <param name="customStore">Whether an <see cref="Persistence.IRedundancyStore"/> is registered, which makes the state file settings irrelevant.</param>
    /// <param name="defaultDirectory">The per-user data folder (tests give none); <see langword="null"/> for <see cref="Persistence.JsonFileRedundancyStore.GetDefaultDirectory"/>.</param>
    public RedundancyServiceOptionsValidator(string? sectionPath, Func<bool> customTransport, Func<bool>? customStore = null, Func<string?>? defaultDirectory = null)
    {
        _sectionPath = sectionPath;
        _customTransport = customTransport;
        _customStore = customStore ?? (static () => false);
        _defaultDirectory = defaultDirectory ?? Persistence.JsonFileRedundancyStore.GetDefaultDirectory;
    }

    public ValidateOptionsResult Validate(string? name, RedundancyServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        ValidateManager(options, failures);
        if (!_customTransport())
        {
            ValidateTransport(options, failures);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>The name of a setting as the integrator wrote it: the configuration key, or the property when configured in code.</summary>
    internal string Key(string property) =>
        _sectionPath is null ? $"{nameof(RedundancyServiceOptions)}.{property}"
        : _sectionPath.Length == 0 ? property
        : $"{_sectionPath}:{property}";

    private void ValidateManager(RedundancyServiceOptions options, List<string> failures)
    {
        PbxAddress? primary = null;
        var scheme = options.Scheme;
        if (string.IsNullOrWhiteSpace(options.Primary))
        {
            failures.Add($"{Key(nameof(options.Primary))} is required: the primary PBX as the myApps URL, host, host:port or host[:port]/module, for example pbx.example.com/PBX0.");
        }
        else if (!PbxAddress.TryParseInput(options.Primary, options.Scheme, out primary, out scheme, out var error))
        {
            failures.Add($"{Key(nameof(options.Primary))}: {error}");
        }

        if (scheme == PbxScheme.Ws && !options.AllowInsecure && !_customTransport())
        {
            // An http:// URL as Primary means plain text just as Scheme = Ws does.
            var source = options.Scheme == PbxScheme.Ws ? $"{Key(nameof(options.Scheme))} is Ws" : $"{Key(nameof(options.Primary))} is an http:// URL";
            failures.Add($"{source} (plain text): set {Key(nameof(options.AllowInsecure))} to true to allow it, or use Wss.");
        }

        if (options.PersistState && string.IsNullOrWhiteSpace(options.StateFile) && string.IsNullOrWhiteSpace(options.StateDirectory)
            && !_customStore() && _defaultDirectory() is null)
        {
            failures.Add($"{Key(nameof(options.PersistState))} is on, but this process has no per-user data folder (no home directory) for the state file: " +
                         $"set {Key(nameof(options.StateDirectory))} or {Key(nameof(options.StateFile))}, or set {Key(nameof(options.PersistState))} to false to keep the state in memory.");
        }

        // The manager's ranges, checked by the manager's own rules; only the first failure is reported by them.
        try
        {
            RedundancyServiceFactory.ToManagerOptions(options, primary ?? PlaceholderPrimary, UncalledTransport.Instance, null, null, TimeProvider.System).Validate();
        }
        catch (ArgumentException ex)
        {
            // "RedundancyOptions.X must be ..." becomes "<key of X> must be ...".
            var property = ex.ParamName ?? "?";
            var message = FirstLine(ex.Message);
            var own = $"{nameof(RedundancyOptions)}.{property}";
            failures.Add(message.Contains(own, StringComparison.Ordinal) ? message.Replace(own, Key(property), StringComparison.Ordinal) : $"{Key(property)}: {message}");
        }
    }

    private void ValidateTransport(RedundancyServiceOptions options, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(options.User))
        {
            failures.Add($"{Key(nameof(options.User))} is required: the user's SIP name to log in with.");
        }

        var hasSession = !string.IsNullOrEmpty(options.SessionId) || !string.IsNullOrEmpty(options.SessionPassword);
        if (hasSession && (string.IsNullOrEmpty(options.SessionId) || options.SessionPassword is null))
        {
            failures.Add($"{Key(nameof(options.SessionId))} and {Key(nameof(options.SessionPassword))} go together: give both or neither.");
        }

        if (options.Password is null && !hasSession)
        {
            failures.Add($"{Key(nameof(options.Password))} is required (or {Key(nameof(options.SessionId))} and {Key(nameof(options.SessionPassword))}): " +
                         "keep it in an environment variable or user secrets, not in appsettings.json.");
        }

        if (string.IsNullOrWhiteSpace(options.UserAgent))
        {
            failures.Add($"{Key(nameof(options.UserAgent))} must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(options.PathTemplate) || options.PathTemplate[0] != '/' || !options.PathTemplate.Contains("{module}", StringComparison.Ordinal))
        {
            failures.Add($"{Key(nameof(options.PathTemplate))} must start with '/' and contain '{{module}}'.");
        }

        if (options.Build < 0)
        {
            failures.Add($"{Key(nameof(options.Build))} must not be negative.");
        }

        if (options.MaxFrameBytes < 1024)
        {
            failures.Add($"{Key(nameof(options.MaxFrameBytes))} must be at least 1024.");
        }

        if (options.KeepAliveInterval < TimeSpan.Zero)
        {
            failures.Add($"{Key(nameof(options.KeepAliveInterval))} must not be negative (00:00:00 disables keepalive).");
        }

        if (options.KeepAliveTimeout != Timeout.InfiniteTimeSpan && options.KeepAliveTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{Key(nameof(options.KeepAliveTimeout))} must be positive (or -00:00:00.001 to disable the check).");
        }

        RequirePositive(options.ConnectTimeout, nameof(options.ConnectTimeout), failures);
        RequirePositive(options.LoginTimeout, nameof(options.LoginTimeout), failures);
        RequirePositive(options.AuthorizeTimeout, nameof(options.AuthorizeTimeout), failures);
        RequirePositive(options.CloseTimeout, nameof(options.CloseTimeout), failures);

        for (var i = 0; i < options.TrustedCertificateThumbprints.Count; i++)
        {
            if (CertificateThumbprints.Normalize(options.TrustedCertificateThumbprints[i]) is null)
            {
                failures.Add($"{Key($"{nameof(options.TrustedCertificateThumbprints)}:{i}")} is not a SHA-256 thumbprint (64 hex digits).");
            }
        }
    }

    private void RequirePositive(TimeSpan value, string property, List<string> failures)
    {
        if (value <= TimeSpan.Zero)
        {
            failures.Add($"{Key(property)} must be positive.");
        }
    }

    // ArgumentException appends "(Parameter 'x')" and ArgumentOutOfRangeException "Actual value was ..." on new lines.
    private static string FirstLine(string message)
    {
        var end = message.IndexOfAny(['\r', '\n']);
        var line = end < 0 ? message : message[..end];
        var parameter = line.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return parameter < 0 ? line : line[..parameter];
    }

    private static readonly PbxAddress PlaceholderPrimary = new("placeholder.invalid");

    /// <summary>Stands in for the transport while the manager's options are checked; never called.</summary>
    private sealed class UncalledTransport : IPbxTransport
    {
        public static readonly UncalledTransport Instance = new();

        public ValueTask<LoginOutcome> ConnectAsync(PbxLoginRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("Only used to validate options.");
    }
}
