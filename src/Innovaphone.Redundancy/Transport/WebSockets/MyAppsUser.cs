using System.Globalization;
using System.Text;

namespace Innovaphone.Redundancy.Transport.WebSockets;

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
