using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>
/// The myApps WebSocket transport's log events, ids 200-249 (2xx = transport/protocol; the manager uses 250+).
/// Event ids are public contract. No message carries a password, session id, session password, nonce, challenge,
/// digest, key share, shared secret, two-factor code, sign-in URL or frame content: only addresses, kinds and reasons
/// built from field names (and, at Debug, the SIP name the PBX gives after a sign-in).
/// </summary>
internal static partial class WebSocketLog
{
    public const int ConnectingId = 200;
    public const int ConnectedId = 201;
    public const int ConnectFailedId = 202;
    public const int InsecureRefusedId = 203;
    public const int LoginSentId = 204;
    public const int AuthorizeRequestedId = 205;
    public const int CallbackFailedId = 206;
    public const int LoggedInId = 207;
    public const int RedirectedId = 208;
    public const int RejectedId = 209;
    public const int SessionExpiredId = 210;
    public const int SessionLearnedId = 211;
    public const int LoginFailedId = 212;
    public const int LoginNoteId = 213;
    public const int ConnectionLostId = 214;
    public const int KeepAliveExpiredId = 215;
    public const int CloseIncompleteId = 216;
    public const int SessionDroppedId = 217;
    public const int MessageSubscriberFailedId = 218;
    public const int ProgressListenerFailedId = 219;
    public const int LoginInfoUnansweredId = 220;
    public const int SignInRequestedId = 221;
    public const int SignedInId = 222;
    public const int SessionStoreFailedId = 223;
    public const int CertificateRefusedId = 224;

    [LoggerMessage(ConnectingId, LogLevel.Debug, "Attempt {AttemptId}: connecting to {Uri}")]
    public static partial void Connecting(ILogger logger, long attemptId, Uri uri);

    [LoggerMessage(ConnectedId, LogLevel.Debug, "Attempt {AttemptId}: WebSocket open to {Pbx}")]
    public static partial void Connected(ILogger logger, long attemptId, PbxAddress pbx);

    [LoggerMessage(ConnectFailedId, LogLevel.Information, "Attempt {AttemptId}: cannot connect to {Pbx} ({FailureKind}): {Reason}")]
    public static partial void ConnectFailed(ILogger logger, long attemptId, PbxAddress pbx, AttemptFailureKind failureKind, string reason);

    [LoggerMessage(InsecureRefusedId, LogLevel.Warning, "Attempt {AttemptId}: refusing ws:// to {Pbx} because AllowInsecure is false")]
    public static partial void InsecureRefused(ILogger logger, long attemptId, PbxAddress pbx);

    [LoggerMessage(LoginSentId, LogLevel.Debug, "Attempt {AttemptId}: Login type {LoginType} sent to {Pbx}")]
    public static partial void LoginSent(ILogger logger, long attemptId, string loginType, PbxAddress pbx);

    [LoggerMessage(AuthorizeRequestedId, LogLevel.Information, "Attempt {AttemptId}: {Pbx} asks for two-factor authorization; waiting up to {Timeout}")]
    public static partial void AuthorizeRequested(ILogger logger, long attemptId, PbxAddress pbx, TimeSpan timeout);

    [LoggerMessage(CallbackFailedId, LogLevel.Warning, "Attempt {AttemptId}: the {Callback} callback threw {ExceptionType}; the login keeps waiting")]
    public static partial void CallbackFailed(ILogger logger, long attemptId, string callback, string exceptionType);

    [LoggerMessage(LoginInfoUnansweredId, LogLevel.Debug, "Attempt {AttemptId}: {Pbx} did not answer LoginInfo within {Timeout} (a release before 13r3?); logging in without its list of methods")]
    public static partial void LoginInfoUnanswered(ILogger logger, long attemptId, PbxAddress pbx, TimeSpan timeout);

    // Only the identity provider's host: the URL's query binds the browser's sign-in to this login (MyAppsSignIn).
    [LoggerMessage(SignInRequestedId, LogLevel.Information, "Attempt {AttemptId}: {Pbx} asks the user to sign in at {IdentityProvider}; waiting up to {Timeout}")]
    public static partial void SignInRequested(ILogger logger, long attemptId, PbxAddress pbx, string identityProvider, TimeSpan timeout);

    [LoggerMessage(SignedInId, LogLevel.Debug, "Attempt {AttemptId}: signed in at {Pbx} as {Sip} (LoginResult digest verified: {DigestVerified})")]
    public static partial void SignedIn(ILogger logger, long attemptId, PbxAddress pbx, string? sip, bool digestVerified);

    [LoggerMessage(ProgressListenerFailedId, LogLevel.Warning, "Attempt {AttemptId}: the login progress listener threw {ExceptionType}; the login goes on")]
    public static partial void ProgressListenerFailed(ILogger logger, long attemptId, string exceptionType);

    [LoggerMessage(LoggedInId, LogLevel.Information, "Attempt {AttemptId}: logged in to {Pbx} (standby {Standby}, alt {Alternative}, master {Master})")]
    public static partial void LoggedIn(ILogger logger, long attemptId, PbxAddress pbx, bool? standby, PbxAddress? alternative, PbxAddress? master);

    [LoggerMessage(RedirectedId, LogLevel.Information, "Attempt {AttemptId}: {Pbx} redirects to {Target}")]
    public static partial void Redirected(ILogger logger, long attemptId, PbxAddress pbx, PbxAddress target);

    [LoggerMessage(RejectedId, LogLevel.Warning, "Attempt {AttemptId}: {Pbx} rejected the login with error {ErrorCode}: {ErrorText}")]
    public static partial void Rejected(ILogger logger, long attemptId, PbxAddress pbx, int errorCode, string errorText);

    [LoggerMessage(SessionExpiredId, LogLevel.Information, "Attempt {AttemptId}: the session expired at {Pbx}")]
    public static partial void SessionExpired(ILogger logger, long attemptId, PbxAddress pbx);

    [LoggerMessage(SessionLearnedId, LogLevel.Debug, "Attempt {AttemptId}: {Pbx} issued a session; later logins use it")]
    public static partial void SessionLearned(ILogger logger, long attemptId, PbxAddress pbx);

    [LoggerMessage(LoginFailedId, LogLevel.Warning, "Attempt {AttemptId}: login at {Pbx} failed ({FailureKind}): {Reason}")]
    public static partial void LoginFailed(ILogger logger, long attemptId, PbxAddress pbx, AttemptFailureKind failureKind, string reason);

    [LoggerMessage(LoginNoteId, LogLevel.Warning, "Attempt {AttemptId}: {Pbx}: {Note}")]
    public static partial void LoginNote(ILogger logger, long attemptId, PbxAddress pbx, string note);

    [LoggerMessage(ConnectionLostId, LogLevel.Information, "Connection to {Pbx} ended ({LossKind}): {Reason}")]
    public static partial void ConnectionLost(ILogger logger, PbxAddress pbx, ConnectionLossKind lossKind, string reason);

    [LoggerMessage(KeepAliveExpiredId, LogLevel.Warning, "{Pbx} did not answer a keepalive PING within {Limit}; treating the connection as dead")]
    public static partial void KeepAliveExpired(ILogger logger, PbxAddress pbx, TimeSpan limit);

    [LoggerMessage(CloseIncompleteId, LogLevel.Debug, "Close handshake with {Pbx} did not complete ({ExceptionType}); aborted the socket")]
    public static partial void CloseIncomplete(ILogger logger, PbxAddress pbx, string exceptionType);

    [LoggerMessage(SessionDroppedId, LogLevel.Information, "The session was dropped ({Reason}); the next login uses the user's password if one is configured")]
    public static partial void SessionDropped(ILogger logger, string reason);

    [LoggerMessage(MessageSubscriberFailedId, LogLevel.Error, "A subscriber of the messages from {Pbx} threw; the message is dropped for it")]
    public static partial void MessageSubscriberFailed(ILogger logger, PbxAddress pbx, Exception exception);

    [LoggerMessage(SessionStoreFailedId, LogLevel.Warning, "The session store failed to {Operation} the session ({ExceptionType}); the transport goes on with the session it holds")]
    public static partial void SessionStoreFailed(ILogger logger, string operation, string exceptionType);

    [LoggerMessage(CertificateRefusedId, LogLevel.Warning, "Attempt {AttemptId}: the TLS handshake with {Pbx} failed, most often because its certificate is not trusted (pin it: TrustedCertificateThumbprints, --trust-thumbprint): {Reason}")]
    public static partial void CertificateRefused(ILogger logger, long attemptId, PbxAddress pbx, string reason);
}
