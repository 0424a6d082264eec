using System.Globalization;
using System.Text;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>
/// The PBX asks the user to sign in at the identity provider (myApps OAuth2 login): show <see cref="Url"/> to the user
/// or open it in a browser. The login goes on when the user has signed in there; see
/// <see cref="MyAppsTransportOptions.OnSignIn"/>.
/// </summary>
/// <param name="Pbx">The PBX that asks.</param>
/// <param name="Url">The sign-in page (absolute, <c>https</c> or <c>http</c>), as the PBX sent it.</param>
/// <remarks>
/// The URL's query binds the browser's sign-in to this login (OAuth2 <c>state</c> and the like): whoever signs in at it
/// signs this client in. Show it to the user it is meant for, and do not log it: <see cref="ToString"/> leaves the query
/// out, and the transport logs only the identity provider's host.
/// </remarks>
public sealed record MyAppsSignIn(PbxAddress Pbx, Uri Url)
{
    /// <summary>The name the PBX gives the identity provider (LoginInfoResult <c>user.oauth2Name</c>, e.g. "Windows"), or <see langword="null"/>.</summary>
    public string? ProviderName { get; init; }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture, $"Pbx = {Pbx}, Url = {Url.GetLeftPart(UriPartial.Path)}, ProviderName = {ProviderName}");
        return true;
    }
}

/// <summary>
/// Who the PBX says the logged-in user is: the <c>info.user</c> object of its LoginResult. After a single sign-on this
/// is the only place the client learns the user's name. Each field is <see langword="null"/> when the PBX did not send it.
/// </summary>
/// <remarks>Personal data: <see cref="ToString"/> shows only <see cref="Sip"/>.</remarks>
public sealed record MyAppsUser
{
    /// <summary>The user's SIP name (<c>sip</c>), the name a digest login uses.</summary>
    public string? Sip { get; init; }

    /// <summary>The display name (<c>dn</c>).</summary>
    public string? DisplayName { get; init; }

    /// <summary>The phone number (<c>num</c>).</summary>
    public string? Number { get; init; }

    /// <summary>The PBX's unique id of the user object (<c>guid</c>).</summary>
    public string? UserGuid { get; init; }

    /// <summary>The PBX domain (<c>domain</c>).</summary>
    public string? Domain { get; init; }

    /// <summary>The e-mail address (<c>email</c>).</summary>
    public string? Email { get; init; }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(CultureInfo.InvariantCulture, $"Sip = {Sip}");
        return true;
    }
}
