using System.Globalization;
using System.Text;
using Innovaphone.Redundancy.Transport;
using Innovaphone.Redundancy.Transport.WebSockets;

namespace Innovaphone.Redundancy.Hosting;

/// <summary>
/// The settings of the hosted <see cref="RedundancyManager"/> and of its myApps WebSocket transport, bound from
/// configuration (by default the section <c>Innovaphone:Redundancy</c>): every property is a configuration key of
/// the same name. Validated when the host starts; a bad value fails the start with a message naming its key.
/// </summary>
/// <remarks>
/// <para><see cref="Password"/>, <see cref="SessionId"/> and <see cref="SessionPassword"/> are secrets: keep them in
/// environment variables or user secrets, not in appsettings.json. <see cref="ToString"/> never shows them, and no
/// log line or exception message of this package contains them.</para>
/// <para>The user, password and session settings and every transport setting apply only to the built-in
/// <see cref="MyAppsWebSocketTransport"/>; when an <see cref="IPbxTransport"/> is registered in the container, that
/// transport is used and they are ignored (except <see cref="User"/>, which still keys the stored state).</para>
/// </remarks>
public sealed class RedundancyServiceOptions
{
    /// <summary>The configuration section bound by default: <c>Innovaphone:Redundancy</c>.</summary>
    public const string DefaultSectionName = "Innovaphone:Redundancy";

    /// <summary>
    /// The primary PBX: the PBX configured in the client, which the manager connects to first. Accepted as the myApps
    /// URL copied from the browser (<c>https://pbx.example.com/PBX0/APPCLIENT/130000/index.htm</c>; its scheme replaces
    /// <see cref="Scheme"/>: https is Wss, http is Ws), a bare host (module <c>PBX0</c>), <c>host:port</c> or
    /// <c>host[:port]/module</c>, IPv6 in brackets; the scheme's default port is dropped (see
    /// <see cref="PbxAddress.TryParseInput"/>). Required. Default: <see langword="null"/>.
    /// </summary>
    public string? Primary { get; set; }

    /// <summary>
    /// The user's SIP name: the login name of the built-in transport (required for it) and the key of the stored
    /// state, so that two users of one primary do not share a secondary. Default: <see langword="null"/>.
    /// </summary>
    public string? User { get; set; }

    /// <summary>
    /// The user's password. A secret: never logged, never in exception messages or <see cref="ToString"/>.
    /// The built-in transport needs it or a session (<see cref="SessionId"/> and <see cref="SessionPassword"/>).
    /// Default: <see langword="null"/>.
    /// </summary>
    public string? Password { get; set; }

    /// <summary>
    /// The id of a myApps session kept from an earlier run; with <see cref="SessionPassword"/> the first login uses
    /// it (see <see cref="MyAppsTransportOptions.InitialSession"/>). A secret. Default: <see langword="null"/>.
    /// </summary>
    public string? SessionId { get; set; }

    /// <summary>The password of the session named by <see cref="SessionId"/>. A secret. Default: <see langword="null"/>.</summary>
    public string? SessionPassword { get; set; }

    /// <summary>
    /// <c>Wss</c> (TLS) or <c>Ws</c> (plain text; needs <see cref="AllowInsecure"/>). Redirects never change it; a myApps
    /// URL as <see cref="Primary"/> replaces it with the URL's scheme.
    /// Default: <see cref="PbxScheme.Wss"/>.
    /// </summary>
    public PbxScheme Scheme { get; set; } = PbxScheme.Wss;

    /// <summary>
    /// Allows <see cref="Scheme"/> <c>Ws</c>: plain-text connections, for emulators and test set-ups only.
    /// Default: <see langword="false"/>.
    /// </summary>
    public bool AllowInsecure { get; set; }

    /// <summary>
    /// SHA-256 thumbprints (hex; colons and spaces ignored) of PBX certificates to trust although the platform does not,
    /// such as the self-signed certificate a PBX ships with. A certificate is accepted when the platform trusts it or
    /// its thumbprint is listed. Default: empty (the platform's validation only).
    /// </summary>
    public IList<string> TrustedCertificateThumbprints { get; } = [];

    /// <summary>The physical location published as connInfo <c>phys</c>. Default: <see langword="null"/>.</summary>
    public string? Phys { get; set; }

    /// <summary>
    /// Whether the primary, secondary and the user's PBX are kept across restarts in a file
    /// (<see cref="Persistence.JsonFileRedundancyStore"/>): at <see cref="StateFile"/> when it is set, else in
    /// <see cref="StateDirectory"/>, one file per primary and user. Default: <see langword="true"/>.
    /// </summary>
    /// <remarks>
    /// Set it to <see langword="false"/> to keep the record in memory only. That costs availability: a service restarted
    /// while its primary PBX is down knows no secondary and tries the primary alone until it comes back. An
    /// <see cref="Persistence.IRedundancyStore"/> registered in the container wins over this setting.
    /// </remarks>
    public bool PersistState { get; set; } = true;

    /// <summary>
    /// The file where the record is kept when <see cref="PersistState"/> is on. Default: <see langword="null"/>, a file
    /// named after the primary and the user in <see cref="StateDirectory"/>.
    /// </summary>
    public string? StateFile { get; set; }

    /// <summary>
    /// The folder for the default state file (used when <see cref="StateFile"/> is not set). Default:
    /// <see langword="null"/>, the per-user local data folder
    /// (<see cref="Persistence.JsonFileRedundancyStore.GetDefaultDirectory"/>). Set it for a service account without a
    /// home directory, for example <c>/var/lib/my-app</c>.
    /// </summary>
    public string? StateDirectory { get; set; }

    /// <summary>The longest one attempt (connect + login at one PBX) may take. Default: 10 s. Range: 10 ms to 10 min.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The backoff after the first failed round of attempts. Default: 1 s. Range: 1 ms to 1 h.</summary>
    public TimeSpan BackoffInitial { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest backoff between two rounds. Default: 30 s. At least <see cref="BackoffInitial"/>, at most 1 day.</summary>
    public TimeSpan BackoffMax { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether the backoff is randomised (decorrelated jitter). Default: <see langword="true"/>.</summary>
    public bool BackoffJitter { get; set; } = true;

    /// <summary>
    /// A connection lost sooner than this after its login is an early loss: the first reconnects at once, the second in
    /// a row and every further one only after a growing backoff. <see cref="TimeSpan.Zero"/> turns this off.
    /// Default: 2 s. Range: 0 to 10 min.
    /// </summary>
    public TimeSpan MinStableConnection { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Spreads the first reconnect after a lost connection over a random wait in [0, value), so that many clients of
    /// one PBX do not arrive at the next PBX at once. Default: 0 (reconnect at once). Range: 0 to 10 min.
    /// </summary>
    public TimeSpan ReconnectJitter { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Staggered attempts: a PBX that has not answered within this delay no longer blocks the next candidate of the
    /// round (the delay for a PBX not seen yet; learned per PBX afterwards). <c>-00:00:00.001</c>
    /// (<see cref="Timeout.InfiniteTimeSpan"/>) turns staggering off. Default: 250 ms. Range: 10 ms to 1 min.
    /// </summary>
    public TimeSpan StaggerDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The most redirects one attempt follows. Default: 5. Range: 0 to 32.</summary>
    public int MaxRedirectHops { get; set; } = 5;

    /// <summary>The <c>userAgent</c> sent with every login. Default: <c>Innovaphone.Redundancy</c>.</summary>
    public string UserAgent { get; set; } = MyAppsTransportOptions.DefaultUserAgent;

    /// <summary>
    /// The URL path; <c>{module}</c> and <c>{build}</c> are replaced by the PBX module and <see cref="Build"/>.
    /// Default: <c>/{module}/APPCLIENT/{build}/websocket</c>.
    /// </summary>
    public string PathTemplate { get; set; } = MyAppsTransportOptions.DefaultPathTemplate;

    /// <summary>The firmware build number put into <see cref="PathTemplate"/>. Default: 130000. At least 0.</summary>
    public int Build { get; set; } = MyAppsTransportOptions.DefaultBuild;

    /// <summary>The largest frame accepted, in bytes. Default: 1048576 (1 MiB). At least 1024.</summary>
    public int MaxFrameBytes { get; set; } = 1024 * 1024;

    /// <summary>How often the client checks that the PBX is there (WebSocket PING on .NET 9+, TCP keep-alive everywhere); <see cref="TimeSpan.Zero"/> disables it. Default: 5 s.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long to wait for the peer after a keepalive before the connection counts as dead; <c>-00:00:00.001</c>
    /// (<see cref="Timeout.InfiniteTimeSpan"/>) disables the check. Default: 5 s.
    /// </summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Bounds the WebSocket opening handshake (TCP, TLS, HTTP upgrade). Default: 10 s. Positive.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Bounds the login exchange. Default: 15 s. Positive.</summary>
    public TimeSpan LoginTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long to wait for the user after a two-factor Authorize or a sign-in page (the transport's
    /// <c>MyAppsTransportOptions.SignInTimeout</c>). Default: 5 min. Positive.
    /// </summary>
    public TimeSpan AuthorizeTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Bounds the WebSocket close handshake. Default: 2 s. Positive.</summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Code only (not bound from configuration): adjusts the built-in transport's options after they were made from
    /// this class, for what configuration cannot carry, for example
    /// <c>o =&gt; o with { OnAuthorize = code =&gt; ... }</c>. Default: <see langword="null"/>.
    /// </summary>
    public Func<MyAppsTransportOptions, MyAppsTransportOptions>? ConfigureTransport { get; set; }

    /// <summary>Lists the settings; the password and the session are shown as <c>***</c> when set.</summary>
    public override string ToString()
    {
        var text = new StringBuilder("RedundancyServiceOptions { ");
        text.Append(CultureInfo.InvariantCulture, $"Primary = {Primary}, User = {User}, ");
        text.Append(CultureInfo.InvariantCulture, $"Password = {Hidden(Password)}, SessionId = {Hidden(SessionId)}, SessionPassword = {Hidden(SessionPassword)}, ");
        text.Append(CultureInfo.InvariantCulture, $"Scheme = {Scheme}, AllowInsecure = {AllowInsecure}, TrustedCertificateThumbprints = [{string.Join(", ", TrustedCertificateThumbprints)}], ");
        text.Append(CultureInfo.InvariantCulture, $"Phys = {Phys}, StateFile = {StateFile}, ");
        text.Append(CultureInfo.InvariantCulture, $"AttemptTimeout = {AttemptTimeout}, BackoffInitial = {BackoffInitial}, BackoffMax = {BackoffMax}, BackoffJitter = {BackoffJitter}, ");
        text.Append(CultureInfo.InvariantCulture, $"MinStableConnection = {MinStableConnection}, ReconnectJitter = {ReconnectJitter}, StaggerDelay = {StaggerDelay}, MaxRedirectHops = {MaxRedirectHops}, ");
        text.Append(CultureInfo.InvariantCulture, $"UserAgent = {UserAgent}, PathTemplate = {PathTemplate}, Build = {Build}, MaxFrameBytes = {MaxFrameBytes}, ");
        text.Append(CultureInfo.InvariantCulture, $"KeepAliveInterval = {KeepAliveInterval}, KeepAliveTimeout = {KeepAliveTimeout}, ConnectTimeout = {ConnectTimeout}, ");
        text.Append(CultureInfo.InvariantCulture, $"LoginTimeout = {LoginTimeout}, AuthorizeTimeout = {AuthorizeTimeout}, CloseTimeout = {CloseTimeout} }}");
        return text.ToString();
    }

    private static string Hidden(string? secret) => secret is null ? "(none)" : "***";
}
