namespace Innovaphone.Redundancy.Testing;

/// <summary>What a login names and how it proves it.</summary>
internal enum SimulatedCredentialKind
{
    /// <summary>A user name, with the user's password (digest).</summary>
    User,

    /// <summary>A session id, with the session password (digest).</summary>
    Session,

    /// <summary>A user name the identity provider vouches for (OAuth2): no secret to check.</summary>
    SignIn,
}

/// <summary>A user of the simulated installation. A class, not a record: identity matters and ToString must not show the password.</summary>
internal sealed class SimulatedUser(string name, string password, SimulatedPbx home, SimulatedUserDetails details)
{
    public string Name { get; } = name;

    public string Password { get; } = password;

    /// <summary>What a PBX tells the client about the user (<c>info.user</c>).</summary>
    public SimulatedUserDetails Details { get; } = details;

    /// <summary>The user's PBX; changed under the system's lock (<see cref="SimulatedPbxSystem.MoveUser"/>).</summary>
    public SimulatedPbx Home { get; set; } = home;
}

/// <summary>
/// The user's names and number as a PBX reports them in <c>info.user</c>: display name (<c>dn</c>), number (<c>num</c>),
/// GUID and e-mail (<see langword="null"/>: the emulator makes <c>&lt;name&gt;@&lt;domain&gt;</c> of it).
/// </summary>
internal sealed record SimulatedUserDetails(string DisplayName, string Number, string Guid, string? Email);

/// <summary>A myApps session issued on a successful user login; valid on every PBX of the installation but those it expired at.</summary>
internal sealed class SimulatedSession(string id, string password, SimulatedUser user)
{
    public string Id { get; } = id;

    public string Password { get; } = password;

    public SimulatedUser User { get; } = user;

    /// <summary>The PBXes that no longer know the session (<see cref="SimulatedPbxSystem.ExpireSessions(string, SimulatedPbx)"/>); guarded by the system's lock.</summary>
    public HashSet<SimulatedPbx> ExpiredAt { get; } = [];
}

/// <summary>
/// A PBX's answer to one login, the user it was for (when the credentials were accepted) and the session it issued:
/// on a successful user login, and on a Redirect after a sign-in (the PBX hands the session over with the Redirect).
/// </summary>
internal readonly record struct SimulatedLoginDecision(LoginOutcome Outcome, SimulatedSession? NewSession, SimulatedUser? User = null);
