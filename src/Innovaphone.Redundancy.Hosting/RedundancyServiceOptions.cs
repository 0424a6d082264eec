using System.Globalization;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Configuration;

namespace Innovaphone.Redundancy.Hosting;

/// <summary>
/// What the hosted <see cref="RedundancyManager"/> needs beyond the library's own settings, bound from configuration
/// (by default the section <c>Innovaphone:Redundancy</c>). Validated when the host starts; a bad value fails the start
/// with a message naming its key.
/// </summary>
/// <remarks>
/// <para>Every setting of <see cref="RedundancyOptions"/> and <see cref="MyAppsTransportOptions"/> that configuration can
/// carry is a key of the same name in the same section (<c>AttemptTimeout</c>, <c>KeepAliveInterval</c>,
/// <c>Password</c>, <c>InitialSession:Id</c>, ...): it is bound onto those types themselves, so that each setting, its
/// default and its range are defined once, there (docs/configuration.md). This class holds only what those types do not:
/// the primary PBX as users write it, the user, certificate pins and where the state is kept. In code, adjust the
/// library's settings with <see cref="ConfigureManager"/> and <see cref="ConfigureTransport"/>.</para>
/// <para>The transport keys apply only to the built-in <see cref="MyAppsWebSocketTransport"/>; when an
/// <see cref="IPbxTransport"/> is registered in the container, that transport is used and they are ignored.</para>
/// </remarks>
public sealed class RedundancyServiceOptions
{
    /// <summary>The configuration section bound by default: <c>Innovaphone:Redundancy</c>.</summary>
    public const string DefaultSectionName = "Innovaphone:Redundancy";

    /// <summary>
    /// The primary PBX: the PBX configured in the client, which the manager connects to first. Accepted as the myApps
    /// URL copied from the browser (<c>https://pbx.example.com/PBX0/APPCLIENT/130000/index.htm</c>; its scheme replaces
    /// the <c>Scheme</c> key: https is Wss, http is Ws), a bare host (module <c>PBX0</c>), <c>host:port</c> or
    /// <c>host[:port]/module</c>, IPv6 in brackets; the scheme's default port is dropped (see
    /// <see cref="PbxAddress.TryParseInput"/>). Required. Default: <see langword="null"/>.
    /// </summary>
    public string? Primary { get; set; }

    /// <summary>
    /// The user's SIP name: the built-in transport's <see cref="MyAppsTransportOptions.Username"/> (required for it) and
    /// the manager's <see cref="RedundancyOptions.User"/>, which keys the stored state so that two users of one primary do
    /// not share a secondary. Default: <see langword="null"/>.
    /// </summary>
    public string? User { get; set; }

    /// <summary>
    /// SHA-256 thumbprints (hex; colons and spaces ignored) of PBX certificates to trust although the platform does not,
    /// such as the self-signed certificate a PBX ships with; they make the built-in transport's
    /// <see cref="MyAppsTransportOptions.RemoteCertificateValidationCallback"/>. A certificate is accepted when the platform
    /// trusts it or its thumbprint is listed. Default: empty (the platform's validation only).
    /// </summary>
    public IList<string> TrustedCertificateThumbprints { get; } = [];

    /// <summary>
    /// Whether the primary, secondary and the user's PBX are kept across restarts in a file
    /// (<see cref="Persistence.JsonFileRedundancyStore"/>): at <see cref="StateFile"/> when it is set, else in
    /// <see cref="StateDirectory"/>, one file per primary and user. Default: <see langword="true"/>.
    /// </summary>
    /// <remarks>
    /// Set it to <see langword="false"/> to keep the record in memory only. That costs availability: a service restarted
    /// while its primary PBX is down knows no secondary and tries the primary alone until it comes back. An
    /// <see cref="IRedundancyStore"/> registered in the container wins over this setting.
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

    /// <summary>
    /// Whether the myApps session is kept across restarts, in a file of its own apart from the state
    /// (<see cref="JsonFileMyAppsSessionStore"/>, created 0600): at <see cref="SessionFile"/> when it is set, else beside
    /// the default state file. The file holds a secret: whoever reads it logs in as the user. Opt in where a restart must
    /// not ask a single sign-on user to sign in again. Default: <see langword="false"/>.
    /// </summary>
    public bool PersistSession { get; set; }

    /// <summary>The file of <see cref="PersistSession"/> (setting it opts in). Default: <see langword="null"/>, one file per primary and user in <see cref="StateDirectory"/>.</summary>
    public string? SessionFile { get; set; }

    /// <summary>
    /// Code only (not bound from configuration): adjusts the manager's options after they were made from configuration,
    /// for example <c>m =&gt; m with { AttemptTimeout = TimeSpan.FromSeconds(5) }</c>. Default: <see langword="null"/>.
    /// </summary>
    public Func<RedundancyOptions, RedundancyOptions>? ConfigureManager { get; set; }

    /// <summary>
    /// Code only (not bound from configuration): adjusts the built-in transport's options after they were made from
    /// configuration, for what configuration cannot carry or a secret kept elsewhere, for example
    /// <c>t =&gt; t with { Password = secret, OnAuthorize = code =&gt; ... }</c>. Default: <see langword="null"/>.
    /// </summary>
    public Func<MyAppsTransportOptions, MyAppsTransportOptions>? ConfigureTransport { get; set; }

    /// <summary>
    /// The configuration section the options were bound from, whose keys are also bound onto
    /// <see cref="RedundancyOptions"/> and <see cref="MyAppsTransportOptions"/>; <see langword="null"/> when configured in code.
    /// </summary>
    internal IConfiguration? Configuration { get; set; }

    /// <summary>Lists this class's settings (none of them is a secret); the library's settings are logged by their own types.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"RedundancyServiceOptions {{ Primary = {Primary}, User = {User}, TrustedCertificateThumbprints = [{string.Join(", ", TrustedCertificateThumbprints)}], " +
        $"PersistState = {PersistState}, StateFile = {StateFile}, StateDirectory = {StateDirectory}, PersistSession = {PersistSession}, SessionFile = {SessionFile} }}");
}
