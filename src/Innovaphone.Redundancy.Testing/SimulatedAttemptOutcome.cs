namespace Innovaphone.Redundancy.Testing;

/// <summary>What a simulated PBX did with one login attempt.</summary>
public enum SimulatedAttemptOutcome
{
    /// <summary>Logged in on the user's own PBX.</summary>
    LoggedIn,

    /// <summary>Logged in on a PBX that keeps the login as standby.</summary>
    LoggedInStandby,

    /// <summary>Redirected to another PBX.</summary>
    Redirected,

    /// <summary>
    /// Rejected: unknown user or wrong password (<see cref="SimulatedPbxSystem.LoginFailedError"/>), or a login method the
    /// PBX does not accept (<see cref="SimulatedPbxSystem.LoginMethodDisabledError"/>).
    /// </summary>
    Rejected,

    /// <summary>Rejected because the session is unknown, expired or logged out (<see cref="SimulatedPbxSystem.SessionExpiredError"/>).</summary>
    SessionExpired,

    /// <summary>The PBX could not be reached, or went down before it answered.</summary>
    Unreachable,

    /// <summary>The client gave up (cancelled) before the PBX answered: a hanging or slow PBX.</summary>
    Abandoned,
}
