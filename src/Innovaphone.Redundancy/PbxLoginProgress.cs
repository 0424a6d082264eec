namespace Innovaphone.Redundancy;

/// <summary>How far a login attempt has come, as the transport reports it through <see cref="PbxLoginRequest.Progress"/>.</summary>
public enum PbxLoginProgress
{
    /// <summary>
    /// The PBX has answered (for myApps: the Authenticate to the first Login arrived). A PBX that answers is alive:
    /// the manager no longer starts the next candidate of a round beside it (staggered attempts race silent PBXes only).
    /// </summary>
    Answered = 1,

    /// <summary>The PBX asks for a two-factor confirmation (myApps Authorize): the user is busy with this attempt.</summary>
    AwaitingAuthorization = 2,

    /// <summary>
    /// The PBX asks the user to sign in at the identity provider (myApps OAuth2: an Authenticate with a <c>url</c>): the
    /// user is busy with this attempt. Like <see cref="AwaitingAuthorization"/>, the manager's attempt timeout no longer
    /// applies (the transport bounds the wait) and no other PBX starts a login beside it.
    /// </summary>
    AwaitingSignIn = 3,
}
