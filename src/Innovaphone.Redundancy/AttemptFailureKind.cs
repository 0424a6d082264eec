namespace Innovaphone.Redundancy;

/// <summary>Why an attempt failed.</summary>
public enum AttemptFailureKind
{
    /// <summary>No connection could be made (refused, reset, DNS, PBX down).</summary>
    Unreachable,

    /// <summary>The attempt did not finish within the attempt timeout.</summary>
    Timeout,

    /// <summary>The PBX answered something that is not valid myApps protocol.</summary>
    ProtocolError,

    /// <summary>A LoginResult or Redirect carried a digest that does not verify: not from a PBX that knows the secret.</summary>
    ForgedDigest,

    /// <summary>A redirect was refused (hop limit, loop, scheme change).</summary>
    RedirectRefused,

    /// <summary>
    /// The PBX answered the first, credential-less Login with an error: it takes no logins now. Not a verdict on the
    /// credentials, so not a <see cref="Rejected"/> outcome: the round goes on with the next PBX.
    /// </summary>
    Refused,
}
