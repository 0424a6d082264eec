using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy.Transport.WebSockets;

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

    /// <summary>
    /// The user's SIP name (login <c>username</c> for type <c>user</c>). Required, except with
    /// <see cref="AllowSingleSignOn"/> and no <see cref="Password"/>: the PBX then names the user at sign-in
    /// (<see cref="MyAppsWebSocketTransport.User"/>). Default: empty.
    /// </summary>
    public string Username { get; init; } = string.Empty;

    /// <summary>
    /// The user's password, or <see langword="null"/> to log in with <see cref="InitialSession"/> or by single sign-on
    /// only. Never logged, never in exception messages or <see cref="ToString"/>. Default: <see langword="null"/>.
    /// </summary>
    public string? Password { get; init; }

    /// <summary>
    /// Lets a user login sign in at the installation's identity provider (myApps OAuth2) when the PBX offers it and no
    /// password login fits (no <see cref="Password"/>, or the PBX does not take passwords). The user signs in in a
    /// browser at the page <see cref="OnSignIn"/> gets; the PBX then hands out a session, which every later login uses,
    /// so the user signs in again only when that session has expired. Requires <see cref="OnSignIn"/>.
    /// Default: <see langword="false"/>.
    /// </summary>
    public bool AllowSingleSignOn { get; init; }

    /// <summary>
    /// Called when the PBX asks the user to sign in (see <see cref="AllowSingleSignOn"/>): show
    /// <see cref="MyAppsSignIn.Url"/> to the user or open it in a browser. Called on the transport's receive path; keep it
    /// short. Exceptions are logged and ignored. The URL is meant for the user's eyes, not for logs
    /// (<see cref="MyAppsSignIn"/>). Default: <see langword="null"/>; required when <see cref="AllowSingleSignOn"/> is on.
    /// </summary>
    public Action<MyAppsSignIn>? OnSignIn { get; init; }

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
    /// Bounds the login exchange from the first message (LoginInfo or Login) to LoginResult or Redirect, except the wait
    /// for the user (see <see cref="SignInTimeout"/>). Default: 15 s.
    /// </summary>
    public TimeSpan LoginTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long to wait for the user once the PBX waits for them: from the sign-in page (OAuth2, <see cref="OnSignIn"/>)
    /// or the two-factor Authorize (<see cref="OnAuthorize"/>), whichever comes first, until the LoginResult or Redirect.
    /// The transport then reports <see cref="PbxLoginProgress.AwaitingSignIn"/> or
    /// <see cref="PbxLoginProgress.AwaitingAuthorization"/>. Default: 5 min.
    /// </summary>
    public TimeSpan SignInTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Bounds the WebSocket close handshake; the socket is aborted afterwards. Default: 2 s.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Called with the two-factor code when the PBX sends Authorize: show it to the user, who confirms it on another
    /// device. Called on the transport's receive path; keep it short. Exceptions are logged and ignored.
    /// Default: <see langword="null"/> (the login then waits for a confirmation made some other way).
    /// </summary>
    public Action<int>? OnAuthorize { get; init; }

    /// <summary>The clock for the connect, login, LoginInfo, sign-in and close timeouts and the keepalive's timer. Default: <see langword="null"/> = <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>Creates the transport's logger. Default: <see langword="null"/> = no logging.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// The random source for login nonces (8 bytes each). Default: <see langword="null"/> =
    /// <see cref="RandomNumberGenerator.Fill(Span{byte})"/>. Internal: only tests replace it, for reproducible digests.
    /// </summary>
    internal RandomBytesFiller? RandomSource { get; init; }

    /// <summary>
    /// Where the myApps session outlives the process, if the host opts in (for example a
    /// <see cref="JsonFileMyAppsSessionStore"/>): the transport loads it once before its first login (unless
    /// <see cref="InitialSession"/> is given), saves every session a PBX issues and clears it when the session expires or
    /// is logged out, in the background and in order. A store that fails is logged (event 223) and the transport goes on
    /// with the session it holds. Needs <see cref="Username"/>, which keys the stored session. Default:
    /// <see langword="null"/>: the session lives as long as the transport, and a restarted single sign-on user signs in again.
    /// </summary>
    public IMyAppsSessionStore? SessionStore { get; init; }

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
        if (string.IsNullOrWhiteSpace(Username) && (Password is not null || !AllowSingleSignOn))
        {
            throw new ArgumentException($"{Name}.{nameof(Username)} is required (it may stay empty only with {nameof(AllowSingleSignOn)} and no {nameof(Password)}).", nameof(Username));
        }

        if (Password is null && InitialSession is null && !AllowSingleSignOn)
        {
            throw new ArgumentException($"{Name}.{nameof(Password)} is required unless {nameof(InitialSession)} is given or {nameof(AllowSingleSignOn)} is on: keep it in a secret store or an environment variable, not in source code or appsettings.json.", nameof(Password));
        }

        if (SessionStore is not null && string.IsNullOrWhiteSpace(Username))
        {
            throw new ArgumentException($"{Name}.{nameof(SessionStore)} needs {nameof(Username)}: the stored session is kept per user.", nameof(SessionStore));
        }

        if (AllowSingleSignOn && OnSignIn is null)
        {
            throw new ArgumentException($"{Name}.{nameof(AllowSingleSignOn)} needs {nameof(OnSignIn)}: the user must be shown the sign-in page.", nameof(OnSignIn));
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
        RequirePositive(SignInTimeout, nameof(SignInTimeout));
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
        builder.Append(CultureInfo.InvariantCulture, $"InitialSession = {(InitialSession is null ? "(none)" : "***")}, AllowSingleSignOn = {AllowSingleSignOn}, ");
        builder.Append(CultureInfo.InvariantCulture, $"UserAgent = {UserAgent}, PathTemplate = {PathTemplate}, Build = {Build}, ");
        builder.Append(CultureInfo.InvariantCulture, $"AllowInsecure = {AllowInsecure}, MaxFrameBytes = {MaxFrameBytes}, ");
        builder.Append(CultureInfo.InvariantCulture, $"KeepAliveInterval = {KeepAliveInterval}, KeepAliveTimeout = {KeepAliveTimeout}, ");
        builder.Append(CultureInfo.InvariantCulture, $"ConnectTimeout = {ConnectTimeout}, LoginTimeout = {LoginTimeout}, ");
        builder.Append(CultureInfo.InvariantCulture, $"SignInTimeout = {SignInTimeout}, CloseTimeout = {CloseTimeout}, VerifyTimeout = {VerifyTimeout}");
        return true;
    }
}
