using System.Text;

namespace Innovaphone.Redundancy.Transport.WebSockets;

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
