using Innovaphone.Redundancy.Transport;

namespace Innovaphone.Redundancy.Testing;

/// <summary>What a login names: a user (with the user's password) or a session (with the session password).</summary>
internal enum SimulatedCredentialKind
{
    User,
    Session,
}

/// <summary>A user of the simulated installation. A class, not a record: identity matters and ToString must not show the password.</summary>
internal sealed class SimulatedUser(string name, string password, SimulatedPbx home)
{
    public string Name { get; } = name;

    public string Password { get; } = password;

    /// <summary>The user's PBX; changed under the system's lock (<see cref="SimulatedPbxSystem.MoveUser"/>).</summary>
    public SimulatedPbx Home { get; set; } = home;
}

/// <summary>A myApps session issued on a successful user login; valid on every PBX of the installation.</summary>
internal sealed class SimulatedSession(string id, string password, SimulatedUser user)
{
    public string Id { get; } = id;

    public string Password { get; } = password;

    public SimulatedUser User { get; } = user;
}

/// <summary>A PBX's answer to one login, and the session it issued if the login was a successful user login.</summary>
internal readonly record struct SimulatedLoginDecision(LoginOutcome Outcome, SimulatedSession? NewSession);
