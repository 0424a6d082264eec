using Microsoft.Extensions.Options;

namespace Innovaphone.Redundancy.Hosting;

/// <summary>
/// Checks <see cref="RedundancyServiceOptions"/> at host start (ValidateOnStart) and names every bad configuration key
/// in its message. The library's settings are checked by their own rules (<see cref="RedundancyOptions.Validate"/> and
/// <see cref="Transport.WebSockets.MyAppsTransportOptions.Validate"/>) on the options the service will really use, and
/// their messages are only re-addressed to the key; this class checks what is the service's own (the primary as text,
/// pins, where the state goes) and what spans both (plain text needs <c>AllowInsecure</c>). Messages carry the names of
/// keys and never the value of a secret.
/// </summary>
internal sealed class RedundancyServiceOptionsValidator : IValidateOptions<RedundancyServiceOptions>
{
    private readonly string? _sectionPath;
    private readonly Func<bool> _customTransport;
    private readonly Func<bool> _customStore;
    private readonly Func<string?> _defaultDirectory;

    /// <param name="sectionPath">The configuration section the options are bound from, or <see langword="null"/> when they are configured in code.</param>
    /// <param name="customTransport">Whether an <see cref="IPbxTransport"/> is registered, which makes the transport settings irrelevant.</param>
    /// <param name="customStore">Whether an <see cref="IRedundancyStore"/> is registered, which makes the state file settings irrelevant.</param>
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
        var customTransport = _customTransport();
        RedundancyOptions? bound = null;
        Transport.WebSockets.MyAppsTransportOptions? transport = null;
        Check(failures, () => bound = RedundancyServiceFactory.BindManagerOptions(options, UncalledTransport.Instance, null, TimeProvider.System));
        if (!customTransport)
        {
            Check(failures, () => transport = RedundancyServiceFactory.ToTransportOptions(options, null, TimeProvider.System));
        }

        var scheme = bound?.Scheme ?? PbxScheme.Wss;
        PbxAddress? primary = null;
        if (string.IsNullOrWhiteSpace(options.Primary))
        {
            failures.Add($"{Key(nameof(options.Primary))} is required: the primary PBX as the myApps URL, host, host:port or host[:port]/module, for example pbx.example.com/PBX0.");
        }
        else if (!PbxAddress.TryParseInput(options.Primary, scheme, out primary, out scheme, out var error))
        {
            failures.Add($"{Key(nameof(options.Primary))}: {error}");
        }

        if (bound is not null)
        {
            Check(failures, () => RedundancyServiceFactory.CompleteManagerOptions(options, bound, primary ?? bound.Primary, scheme).Validate());
        }

        Check(failures, () => transport?.Validate());
        if (scheme == PbxScheme.Ws && transport is { AllowInsecure: false })
        {
            // An http:// URL as Primary means plain text just as Scheme = Ws does.
            var source = bound?.Scheme == PbxScheme.Ws ? $"{Key(nameof(RedundancyOptions.Scheme))} is Ws" : $"{Key(nameof(options.Primary))} is an http:// URL";
            failures.Add($"{source} (plain text): set {Key(nameof(transport.AllowInsecure))} to true to allow it, or use Wss.");
        }

        if (options.PersistState && string.IsNullOrWhiteSpace(options.StateFile) && string.IsNullOrWhiteSpace(options.StateDirectory)
            && !_customStore() && _defaultDirectory() is null)
        {
            failures.Add($"{Key(nameof(options.PersistState))} is on, but this process has no per-user data folder (no home directory) for the state file: " +
                         $"set {Key(nameof(options.StateDirectory))} or {Key(nameof(options.StateFile))}, or set {Key(nameof(options.PersistState))} to false to keep the state in memory.");
        }

        if (options.PersistSession && string.IsNullOrWhiteSpace(options.SessionFile) && string.IsNullOrWhiteSpace(options.StateDirectory)
            && _defaultDirectory() is null)
        {
            failures.Add($"{Key(nameof(options.PersistSession))} is on, but this process has no per-user data folder (no home directory) for the session file: " +
                         $"set {Key(nameof(options.SessionFile))} or {Key(nameof(options.StateDirectory))}.");
        }

        for (var i = 0; i < options.TrustedCertificateThumbprints.Count; i++)
        {
            if (CertificateThumbprints.Normalize(options.TrustedCertificateThumbprints[i]) is null)
            {
                failures.Add($"{Key($"{nameof(options.TrustedCertificateThumbprints)}:{i}")} is not a SHA-256 thumbprint (64 hex digits).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>The name of a setting as the integrator wrote it: the configuration key, or the property when configured in code.</summary>
    internal string Key(string property) =>
        _sectionPath is null ? $"{nameof(RedundancyServiceOptions)}.{property}"
        : _sectionPath.Length == 0 ? property
        : $"{_sectionPath}:{property}";

    /// <summary>
    /// Runs one of the library's checks (or the binder) and adds its failure, re-addressed to the key: the library says
    /// "RedundancyOptions.X must be ..." or "MyAppsTransportOptions.X ...", the integrator reads "&lt;key of X&gt; must be ...".
    /// The binder's messages name the key's path already.
    /// </summary>
    private void Check(List<string> failures, Action check)
    {
        try
        {
            check();
        }
        catch (ArgumentException ex)
        {
            // The transport's Username is the service's User; in code, the other settings keep their types' names.
            var property = ex.ParamName ?? "?";
            var isUser = property == nameof(Transport.WebSockets.MyAppsTransportOptions.Username);
            var key = isUser ? Key(nameof(RedundancyServiceOptions.User)) : _sectionPath is null ? null : Key(property);
            var message = FirstLine(ex.Message);
            string[] owners = [$"{nameof(RedundancyOptions)}.{property}", $"{nameof(Transport.WebSockets.MyAppsTransportOptions)}.{property}"];
            var owner = owners.FirstOrDefault(o => message.Contains(o, StringComparison.Ordinal));
            failures.Add(key is null ? message : owner is null ? $"{key}: {message}" : message.Replace(owner, key, StringComparison.Ordinal));
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains($"'{typeof(Transport.WebSockets.MyAppsSession).FullName}'", StringComparison.Ordinal))
        {
            // The binder makes the session from both keys, and its message names the type rather than the key.
            var session = nameof(Transport.WebSockets.MyAppsTransportOptions.InitialSession);
            failures.Add($"{Key($"{session}:Id")} and {Key($"{session}:Password")} go together: give both or neither.");
        }
        catch (InvalidOperationException ex)
        {
            // ConfigurationBinder: "Failed to convert configuration value at '<path>' to type '<type>'." (never the value).
            failures.Add(FirstLine(ex.Message));
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

    /// <summary>Stands in for the transport while the manager's options are checked; never called.</summary>
    private sealed class UncalledTransport : IPbxTransport
    {
        public static readonly UncalledTransport Instance = new();

        public ValueTask<LoginOutcome> ConnectAsync(PbxLoginRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("Only used to validate options.");
    }
}
