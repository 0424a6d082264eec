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
