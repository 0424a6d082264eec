namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>What the driver tells the socket shell to do after one input.</summary>
internal sealed record LoginStep
{
    /// <summary>A step that changes nothing and sends nothing.</summary>
    public static LoginStep None { get; } = new();

    /// <summary>Frames to send, in order.</summary>
    public IReadOnlyList<byte[]> Send { get; init; } = [];

    /// <summary>
    /// LoginInfo was sent: when no frame arrives within <see cref="LoginDriver.LoginInfoTimeout"/>, the shell calls
    /// <see cref="LoginDriver.OnLoginInfoTimeout"/> (the driver has no clock).
    /// </summary>
    public bool AwaitsLoginInfo { get; init; }

    /// <summary>The PBX asks the user to sign in at this page: call the host, wait with the sign-in timeout.</summary>
    public MyAppsSignIn? SignIn { get; init; }

    /// <summary>The PBX asked for two-factor authorization with this code: call the host, wait with the sign-in timeout.</summary>
    public int? AuthorizeCode { get; init; }

    /// <summary>The login ended without a connection: Redirected, Rejected or AttemptFailed.</summary>
    public LoginOutcome? Outcome { get; init; }

    /// <summary>The login succeeded with these topology facts; the shell makes the connection.</summary>
    public PbxLoginInfo? LoggedIn { get; init; }

    /// <summary>Who the PBX says the user is (LoginResult <c>info.user</c>), when it says.</summary>
    public MyAppsUser? User { get; init; }

    /// <summary>With a login after an OAuth2 sign-in: whether its LoginResult digest verified with a user name of info.</summary>
    public bool SignInVerified { get; init; }

    /// <summary>A new session to keep for later logins.</summary>
    public MyAppsSession? LearnedSession { get; init; }

    /// <summary>The session the login started with is dead (error 5): forget it.</summary>
    public bool SessionDropped { get; init; }

    /// <summary>Things worth a warning in the log (no secrets, no frame content beyond field names and addresses).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Whether the login is over.</summary>
    public bool IsFinal => Outcome is not null || LoggedIn is not null;
}
