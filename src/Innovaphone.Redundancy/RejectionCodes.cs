namespace Innovaphone.Redundancy;

/// <summary>
/// The <see cref="Rejected.Code"/> values a host may want to tell apart. A PBX's own codes are not negative (innovaphone
/// publishes no table of them; <see cref="SessionExpired"/> is the one the protocol names, and a negative code from a
/// PBX fails the attempt as a protocol error); the negative codes are the client's: it ended the login itself, without
/// a verdict of the PBX on any credentials. Neither kind is retried with the same configuration.
/// </summary>
public static class RejectionCodes
{
    /// <summary>
    /// The client has nothing to log in with: no session, no password, and single sign-on not allowed (for example
    /// after the session expired and no password is configured). Nothing was sent.
    /// </summary>
    public const int NoCredentials = -1;

    /// <summary>
    /// No login method fits: the PBX does not offer the methods the configuration allows (a password configured but
    /// the PBX offers only single sign-on and <c>AllowSingleSignOn</c> is off, or the reverse). The text names what the
    /// PBX offers and what is configured.
    /// </summary>
    public const int NoLoginMethod = -2;

    /// <summary>The PBX's error for "session expired" (myApps LoginResult error 5).</summary>
    public const int SessionExpired = 5;
}
