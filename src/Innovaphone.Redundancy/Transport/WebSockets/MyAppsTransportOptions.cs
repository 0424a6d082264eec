using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>Fills <paramref name="destination"/> with cryptographically strong random bytes (used for login nonces).</summary>
/// <param name="destination">The buffer to fill completely.</param>
public delegate void RandomBytesFiller(Span<byte> destination);

/// <summary>
/// Configures <see cref="MyAppsWebSocketTransport"/>. Configure with <c>with</c> expressions; validated when the
/// transport is created.
/// </summary>
/// <remarks>
/// <see cref="ToString"/> never shows <see cref="Password"/> or <see cref="InitialSession"/>'s secrets.
/// </remarks>
public sealed record MyAppsTransportOptions
{
    /// <summary>The default URL path template: <c>/{module}/APPCLIENT/{build}/websocket</c>.</summary>
    public const string DefaultPathTemplate = "/{module}/APPCLIENT/{build}/websocket";

    /// <summary>The default firmware build number in the path: <c>130000</c>, as innovaphone's own samples use.</summary>
    public const int DefaultBuild = 130000;

    /// <summary>The default <see cref="UserAgent"/>: <c>Innovaphone.Redundancy</c>.</summary>
    public const string DefaultUserAgent = "Innovaphone.Redundancy";

    /// <summary>The user's SIP name (login <c>username</c> for type <c>user</c>). Required. Default: empty.</summary>
    public string Username { get; init; } = string.Empty;

    /// <summary>
    /// The user's password, or <see langword="null"/> to log in with <see cref="InitialSession"/> only.
    /// Never logged, never in exception messages or <see cref="ToString"/>. Default: <see langword="null"/>.
    /// </summary>
    public string? Password { get; init; }

    /// <summary>
    /// A myApps session kept from an earlier run (see <see cref="MyAppsWebSocketTransport.Session"/>); the first login
    /// then uses type <c>session</c>. Default: <see langword="null"/>.
    /// </summary>
    public MyAppsSession? InitialSession { get; init; }

    /// <summary>The <c>userAgent</c> sent with every Login. Default: <c>Innovaphone.Redundancy</c>.</summary>
    public string UserAgent { get; init; } = DefaultUserAgent;

    /// <summary>
    /// The URL path; <c>{module}</c> and <c>{build}</c> are replaced by the PBX module and <see cref="Build"/>.
    /// Default: <c>/{module}/APPCLIENT/{build}/websocket</c>.
    /// </summary>
    public string PathTemplate { get; init; } = DefaultPathTemplate;

    /// <summary>The firmware build number put into <see cref="PathTemplate"/>. Default: <c>130000</c>.</summary>
    public int Build { get; init; } = DefaultBuild;

    /// <summary>
    /// Allows plain-text <c>ws://</c> connections (loopback tests, emulators). When <see langword="false"/>, a request
    /// for <see cref="PbxScheme.Ws"/> fails without connecting. Default: <see langword="false"/>.
    /// </summary>
    public bool AllowInsecure { get; init; }

    /// <summary>
    /// Validates the PBX's TLS certificate; <see langword="null"/> uses the platform's default validation.
    /// Default: <see langword="null"/>.
    /// </summary>
    public RemoteCertificateValidationCallback? RemoteCertificateValidationCallback { get; init; }

    /// <summary>
    /// The largest frame accepted, in bytes. A larger frame fails the login (protocol error) or ends the connection.
    /// Default: 1 MiB.
    /// </summary>
    public int MaxFrameBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// How often the client checks that the PBX is still there; <see cref="TimeSpan.Zero"/> turns every check off.
    /// The client sends a WebSocket PING when nothing was received for this long (the transport's own, on every runtime:
    /// one timer per process for all connections, see docs/protocol.md). It is also the TCP keep-alive idle time (whole
    /// seconds, at least 1). Default: 7 s (with <see cref="KeepAliveTimeout"/> 4 s a silent death is found within
    /// interval + timeout + a quarter second, about 11 s; docs/performance.md has the CPU cost).
    /// </summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(7);

    /// <summary>
    /// How long the PBX may stay silent after a PING before the connection counts as dead; it is also the number of TCP
    /// keep-alive probes, one per second (whole seconds, at least 1). <see cref="Timeout.InfiniteTimeSpan"/> disables the
    /// check. Default: 4 s.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>Bounds the WebSocket opening handshake (TCP, TLS, HTTP upgrade). Default: 10 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Bounds the login exchange from the first Login to LoginResult or Redirect, except the wait after an
    /// Authorize (see <see cref="AuthorizeTimeout"/>). Default: 15 s.
    /// </summary>
    public TimeSpan LoginTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// After the PBX sends Authorize (two-factor), how long to wait for the user to confirm and the LoginResult to
    /// arrive. The manager's per-attempt timeout still applies on top and cancels earlier if shorter: set it at least
    /// this long when two-factor login is used. Default: 2 min.
    /// </summary>
    public TimeSpan AuthorizeTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Bounds the WebSocket close handshake; the socket is aborted afterwards. Default: 2 s.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Called with the two-factor code when the PBX sends Authorize: show it to the user, who confirms it on another
    /// device. Called on the transport's receive path; keep it short. Exceptions are logged and ignored.
    /// Default: <see langword="null"/> (the login then waits for a confirmation made some other way).
    /// </summary>
    public Action<int>? OnAuthorize { get; init; }

    /// <summary>The clock for the connect, login, authorize and close timeouts and the keepalive's timer. Default: <see langword="null"/> = <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>Creates the transport's logger. Default: <see langword="null"/> = no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// The random source for login nonces (8 bytes each). Default: <see langword="null"/> =
    /// <see cref="RandomNumberGenerator.Fill(Span{byte})"/>. Replace only in tests.
    /// </summary>
    public RandomBytesFiller? RandomSource { get; init; }

    /// <summary>
    /// How long the PBX may stay silent after a PING that verifies a connection at once: after a network change (see
    /// <see cref="RedundancyOptions.NetworkChanges"/>) or a resume from sleep. A connection that does not answer in time
    /// ends, and the manager fails over. Shorter finds a dead path sooner after a change; too short for the PBX's round
    /// trip ends live connections (each such false alarm costs a reconnect). Default: 1.5 s.
    /// </summary>
    public TimeSpan VerifyTimeout { get; init; } = TimeSpan.FromSeconds(1.5);

    /// <summary>Throws when a value is missing or out of range; called by the transport's constructor.</summary>
    /// <exception cref="ArgumentException">An option is missing or out of range; the message names it (never its value).</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Username))
        {
            throw new ArgumentException($"{Name}.{nameof(Username)} is required.", nameof(Username));
        }

        if (Password is null && InitialSession is null)
        {
            throw new ArgumentException($"{Name}.{nameof(Password)} is required unless {nameof(InitialSession)} is given: keep it in a secret store or an environment variable, not in source code or appsettings.json.", nameof(Password));
        }

        if (string.IsNullOrWhiteSpace(UserAgent))
        {
            throw new ArgumentException($"{Name}.{nameof(UserAgent)} must not be empty.", nameof(UserAgent));
        }

        if (string.IsNullOrWhiteSpace(PathTemplate) || PathTemplate[0] != '/' || !PathTemplate.Contains("{module}", StringComparison.Ordinal))
        {
            throw new ArgumentException($"{Name}.{nameof(PathTemplate)} must start with '/' and contain '{{module}}'.", nameof(PathTemplate));
        }

        if (Build < 0)
        {
            throw new ArgumentException($"{Name}.{nameof(Build)} must not be negative.", nameof(Build));
        }

        if (MaxFrameBytes < 1024)
        {
            throw new ArgumentException($"{Name}.{nameof(MaxFrameBytes)} must be at least 1024.", nameof(MaxFrameBytes));
        }

        RequireNonNegative(KeepAliveInterval, nameof(KeepAliveInterval));
        if (KeepAliveTimeout != Timeout.InfiniteTimeSpan)
        {
            RequirePositive(KeepAliveTimeout, nameof(KeepAliveTimeout));
        }

        RequirePositive(ConnectTimeout, nameof(ConnectTimeout));
        RequirePositive(LoginTimeout, nameof(LoginTimeout));
        RequirePositive(AuthorizeTimeout, nameof(AuthorizeTimeout));
        RequirePositive(CloseTimeout, nameof(CloseTimeout));
        if (VerifyTimeout < TimeSpan.FromMilliseconds(10) || VerifyTimeout > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentException($"{Name}.{nameof(VerifyTimeout)} must be between 10 ms and 1 min.", nameof(VerifyTimeout));
        }
    }

    private const string Name = nameof(MyAppsTransportOptions);

    /// <summary>The URL path for <paramref name="module"/>.</summary>
    internal string FormatPath(string module) =>
        PathTemplate
            .Replace("{module}", Uri.EscapeDataString(module), StringComparison.Ordinal)
            .Replace("{build}", Build.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

    private static void RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentException($"{Name}.{name} must be positive.", name);
        }
    }

    private static void RequireNonNegative(TimeSpan value, string name)
    {
        if (value < TimeSpan.Zero)
        {
            throw new ArgumentException($"{Name}.{name} must not be negative.", name);
        }
    }

    // Replaces the compiler's member printer so that ToString (and logging of the options) never shows secrets.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture, $"Username = {Username}, ");
        builder.Append(CultureInfo.InvariantCulture, $"Password = {(Password is null ? "(none)" : "***")}, ");
        builder.Append(CultureInfo.InvariantCulture, $"InitialSession = {(InitialSession is null ? "(none)" : "***")}, ");
        builder.Append(CultureInfo.InvariantCulture, $"UserAgent = {UserAgent}, PathTemplate = {PathTemplate}, Build = {Build}, ");
        builder.Append(CultureInfo.InvariantCulture, $"AllowInsecure = {AllowInsecure}, MaxFrameBytes = {MaxFrameBytes}, ");
        builder.Append(CultureInfo.InvariantCulture, $"KeepAliveInterval = {KeepAliveInterval}, KeepAliveTimeout = {KeepAliveTimeout}, ");
        builder.Append(CultureInfo.InvariantCulture, $"ConnectTimeout = {ConnectTimeout}, LoginTimeout = {LoginTimeout}, ");
        builder.Append(CultureInfo.InvariantCulture, $"AuthorizeTimeout = {AuthorizeTimeout}, CloseTimeout = {CloseTimeout}, VerifyTimeout = {VerifyTimeout}");
        return true;
    }
}

/// <summary>
/// A myApps session: the credentials a PBX hands out on a successful user login, used for later logins
/// (type <c>session</c>) after a redirect, reconnect, failover or restart.
/// </summary>
/// <param name="Id">The session id (the login <c>username</c> for type <c>session</c>). A secret.</param>
/// <param name="Password">The session password. A secret.</param>
/// <remarks>Keep it as safe as a password. <see cref="ToString"/> shows neither part.</remarks>
public sealed record MyAppsSession(string Id, string Password)
{
    /// <summary>The session id (the login <c>username</c> for type <c>session</c>). A secret.</summary>
    public string Id { get; init; } = !string.IsNullOrEmpty(Id) ? Id : throw new ArgumentException("The session id must not be empty.", nameof(Id));

    /// <summary>The session password. A secret.</summary>
    public string Password { get; init; } = Password ?? throw new ArgumentNullException(nameof(Password));

    // Neither part may reach a log line through string formatting. The compiler requires an instance method here.
#pragma warning disable CA1822 // Mark members as static
    private bool PrintMembers(StringBuilder builder)
#pragma warning restore CA1822
    {
        builder.Append("Id = ***, Password = ***");
        return true;
    }
}
