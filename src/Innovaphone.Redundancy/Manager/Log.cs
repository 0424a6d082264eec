using Innovaphone.Redundancy.Core;
using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy;

/// <summary>
/// The manager's log events (R12). Event ids are public contract (docs/logging.md):
/// 1xx lifecycle, 25x attempts and protocol outcomes, 3xx failover. No message carries a secret. The machine's notes
/// are logged through <see cref="NoteLog"/>: PBXes, kinds and codes are fields of their own (docs/logging.md lists the
/// fields of every event).
/// </summary>
internal static partial class Log
{
    public const int StartedId = 100;
    public const int StoppedId = 101;
    public const int StateChangedId = 102;
    public const int FaultedId = 103;
    public const int SubscriberFailedId = 104;
    public const int StoreLoadFailedId = 105;
    public const int StoreSaveFailedId = 106;
    public const int EventIgnoredId = 107;
    public const int ProcessingFailedId = 108;
    public const int BackgroundAbandonedId = 109;
    public const int WarmUpStepSkippedId = 110;
    public const int AttemptStartedId = 250;
    public const int AttemptFailedId = 251;
    public const int LoggedInId = 252;
    public const int RedirectFollowedId = 253;
    public const int RedirectRefusedId = 254;
    public const int LoginRejectedId = 255;
    public const int StaleResultId = 256;
    public const int TransportThrewId = 257;
    public const int LoginRejectedElsewhereId = 258;
    public const int ConnectionLostId = 300;
    public const int StandbyLoginId = 301;
    public const int DeterminedId = 302;
    public const int BackoffScheduledId = 303;
    public const int StandbyBackId = 304;
    public const int LoggedOutId = 305;
    public const int RoundFailedId = 306;
    public const int ReconnectDelayedId = 307;
    public const int AttemptStaggeredId = 308;
    public const int RedirectJoinedId = 309;
    public const int AttemptAbandonedId = 310;
    public const int StandbyCorrectedId = 311;
    public const int AwaitingUserId = 312;
    public const int NetworkChangedId = 313;
    public const int ReconnectPacedId = 314;

    [LoggerMessage(StartedId, LogLevel.Information, "Redundancy manager started; primary PBX {Primary}")]
    public static partial void Started(ILogger logger, PbxAddress primary);

    [LoggerMessage(StoppedId, LogLevel.Information, "Redundancy manager stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(StateChangedId, LogLevel.Information, "State {Previous} -> {Current}: {Reason}")]
    public static partial void StateChanged(ILogger logger, RedundancyState previous, RedundancyState current, string reason);

    [LoggerMessage(FaultedId, LogLevel.Error, "Faulted: {Reason}")]
    public static partial void Faulted(ILogger logger, string reason);

    [LoggerMessage(SubscriberFailedId, LogLevel.Error, "A subscriber threw while handling a notification; it keeps its subscription")]
    public static partial void SubscriberFailed(ILogger logger, Exception exception);

    [LoggerMessage(StoreLoadFailedId, LogLevel.Warning, "Could not load the stored primary/secondary; starting without ({ExceptionType}: {Message})")]
    public static partial void StoreLoadFailed(ILogger logger, string exceptionType, string message);

    [LoggerMessage(StoreSaveFailedId, LogLevel.Warning, "Could not store the determined primary/secondary ({ExceptionType}: {Message})")]
    public static partial void StoreSaveFailed(ILogger logger, string exceptionType, string message);

    [LoggerMessage(WarmUpStepSkippedId, LogLevel.Debug, "Failover warm-up: the loopback step did not run ({Reason}); the first failover compiles those paths itself")]
    public static partial void WarmUpStepSkipped(ILogger logger, string reason);

    [LoggerMessage(EventIgnoredId, LogLevel.Debug, "Ignored ({Kind}): {Detail}")]
    public static partial void EventIgnored(ILogger logger, IgnoredEvent kind, string detail);

    [LoggerMessage(ProcessingFailedId, LogLevel.Error, "Processing {Event} failed; the manager goes on with the next event")]
    public static partial void ProcessingFailed(ILogger logger, string @event, Exception exception);

    [LoggerMessage(BackgroundAbandonedId, LogLevel.Warning, "{Count} transport call(s) or close(s) did not end within {Bound} of stop; abandoned")]
    public static partial void BackgroundAbandoned(ILogger logger, int count, TimeSpan bound);

    [LoggerMessage(AttemptStartedId, LogLevel.Information, "Attempt {Attempt} (hop {Hop}): connecting to {Pbx} over {Scheme}")]
    public static partial void AttemptStarted(ILogger logger, int attempt, int hop, PbxAddress pbx, PbxScheme scheme);

    [LoggerMessage(AttemptFailedId, LogLevel.Information, "Attempt to {Pbx} failed ({FailureKind}): {Reason}")]
    public static partial void AttemptFailed(ILogger logger, PbxAddress? pbx, AttemptFailureKind failureKind, string? reason);

    [LoggerMessage(LoggedInId, LogLevel.Information, "Logged in to {Pbx} after {RedirectCount} redirect(s)")]
    public static partial void LoggedIn(ILogger logger, PbxAddress? pbx, long redirectCount);

    [LoggerMessage(RedirectFollowedId, LogLevel.Information, "{Pbx} redirects to {Target}")]
    public static partial void RedirectFollowed(ILogger logger, PbxAddress? pbx, PbxAddress? target);

    [LoggerMessage(RedirectRefusedId, LogLevel.Warning, "Redirect from {Pbx} to {Target} refused ({Refusal}): {Detail}")]
    public static partial void RedirectRefused(ILogger logger, PbxAddress? pbx, PbxAddress? target, string refusal, string detail);

    [LoggerMessage(LoginRejectedId, LogLevel.Error, "Login rejected by {Pbx}: {ErrorText} (error {ErrorCode}){Detail}")]
    public static partial void LoginRejected(ILogger logger, PbxAddress? pbx, string? errorText, long errorCode, string detail);

    [LoggerMessage(StaleResultId, LogLevel.Debug, "Ignored ({Kind}): {Detail}")]
    public static partial void StaleResult(ILogger logger, IgnoredEvent kind, string detail);

    [LoggerMessage(TransportThrewId, LogLevel.Warning, "The transport threw during an attempt to {Pbx}; counted as a protocol error ({ExceptionType}: {Message})")]
    public static partial void TransportThrew(ILogger logger, PbxAddress pbx, string exceptionType, string message);

    [LoggerMessage(ConnectionLostId, LogLevel.Information, "Connection to {Pbx} lost: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, PbxAddress? pbx, string? reason);

    [LoggerMessage(StandbyLoginId, LogLevel.Information, "Logged in to {Pbx}, which acts as standby (user's PBX: {Home}; evidence: {Evidence})")]
    public static partial void StandbyLogin(ILogger logger, PbxAddress? pbx, string home, StandbyEvidence evidence);

    [LoggerMessage(DeterminedId, LogLevel.Information, "Determined primary {Primary}, secondary {Secondary}, user's PBX {Home}")]
    public static partial void Determined(ILogger logger, PbxAddress? primary, string secondary, PbxAddress? home);

    [LoggerMessage(BackoffScheduledId, LogLevel.Information, "Next round of attempts in {Delay} (at {DueAt:O})")]
    public static partial void BackoffScheduled(ILogger logger, TimeSpan delay, DateTimeOffset dueAt);

    [LoggerMessage(StandbyBackId, LogLevel.Information, "{Pbx} reports the user's PBX is back (StandbyBack); reconnecting from the primary PBX")]
    public static partial void StandbyBack(ILogger logger, PbxAddress? pbx);

    [LoggerMessage(LoggedOutId, LogLevel.Error, "Session logged out by {Pbx}: {Reason}")]
    public static partial void LoggedOut(ILogger logger, PbxAddress? pbx, string? reason);

    [LoggerMessage(RoundFailedId, LogLevel.Information, "No PBX reachable in this round; last tried {Pbx}: {Detail}")]
    public static partial void RoundFailed(ILogger logger, PbxAddress? pbx, string detail);

    [LoggerMessage(ReconnectDelayedId, LogLevel.Information, "Reconnecting to {Pbx} in {Delay} (reconnect jitter)")]
    public static partial void ReconnectDelayed(ILogger logger, PbxAddress pbx, TimeSpan delay);

    [LoggerMessage(AttemptStaggeredId, LogLevel.Information, "No answer from {Pbx} within the stagger delay: also trying {Target}")]
    public static partial void AttemptStaggered(ILogger logger, PbxAddress? pbx, PbxAddress? target);

    [LoggerMessage(RedirectJoinedId, LogLevel.Information, "{Pbx} redirects to {Target}, which this round is trying already")]
    public static partial void RedirectJoined(ILogger logger, PbxAddress? pbx, PbxAddress? target);

    [LoggerMessage(LoginRejectedElsewhereId, LogLevel.Warning, "Login rejected by {Pbx}, which is not the user's PBX (user's PBX: {Home}): {ErrorText} (error {ErrorCode}); trying on")]
    public static partial void LoginRejectedElsewhere(ILogger logger, PbxAddress? pbx, string home, string? errorText, long errorCode);

    [LoggerMessage(StandbyCorrectedId, LogLevel.Information, "{Pbx} sent StandbyBack, so it had kept the user as standby: the user's PBX is {Home}")]
    public static partial void StandbyCorrected(ILogger logger, PbxAddress? pbx, string home);

    [LoggerMessage(AttemptAbandonedId, LogLevel.Warning, "The transport did not return from the attempt to {Pbx} within {Bound} (it ignores cancellation); attempt abandoned as timed out, a connection it returns later is closed")]
    public static partial void AttemptAbandoned(ILogger logger, PbxAddress pbx, TimeSpan bound);

    [LoggerMessage(AwaitingUserId, LogLevel.Information, "{Pbx} waits for the user ({Progress}); the attempt timeout no longer applies, the transport bounds the wait")]
    public static partial void AwaitingUser(ILogger logger, PbxAddress pbx, PbxLoginProgress progress);

    [LoggerMessage(ReconnectPacedId, LogLevel.Debug, "Reconnecting to {Pbx} after waiting {Delay} for its turn: the managers of this process that lost the same PBX reconnect at most 1.5 times as fast as ReconnectJitter spreads them")]
    public static partial void ReconnectPaced(ILogger logger, PbxAddress pbx, TimeSpan delay);

    [LoggerMessage(NetworkChangedId, LogLevel.Information, "The network changed (available: {Available}): verifying the connection; when available, a backoff in progress ends now")]
    public static partial void NetworkChanged(ILogger logger, bool available);
}
