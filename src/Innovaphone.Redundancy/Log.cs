using Innovaphone.Redundancy.Transport;
using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy;

/// <summary>
/// The manager's log events (R12). Event ids are public contract (docs/logging.md):
/// 1xx lifecycle, 25x attempts and protocol outcomes, 3xx failover. No message carries a secret.
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

    [LoggerMessage(EventIgnoredId, LogLevel.Debug, "Ignored: {Detail}")]
    public static partial void EventIgnored(ILogger logger, string detail);

    [LoggerMessage(ProcessingFailedId, LogLevel.Error, "Processing {Event} failed; the manager goes on with the next event")]
    public static partial void ProcessingFailed(ILogger logger, string @event, Exception exception);

    [LoggerMessage(BackgroundAbandonedId, LogLevel.Warning, "{Count} transport call(s) or close(s) did not end within {Bound} of stop; abandoned")]
    public static partial void BackgroundAbandoned(ILogger logger, int count, TimeSpan bound);

    [LoggerMessage(AttemptStartedId, LogLevel.Information, "Attempt {Attempt} (hop {Hop}): connecting to {Pbx} over {Scheme}")]
    public static partial void AttemptStarted(ILogger logger, int attempt, int hop, PbxAddress pbx, PbxScheme scheme);

    [LoggerMessage(AttemptFailedId, LogLevel.Warning, "{Detail}")]
    public static partial void AttemptFailed(ILogger logger, string detail);

    [LoggerMessage(LoggedInId, LogLevel.Information, "{Detail}")]
    public static partial void LoggedIn(ILogger logger, string detail);

    [LoggerMessage(RedirectFollowedId, LogLevel.Information, "{Detail}")]
    public static partial void RedirectFollowed(ILogger logger, string detail);

    [LoggerMessage(RedirectRefusedId, LogLevel.Warning, "{Detail}")]
    public static partial void RedirectRefused(ILogger logger, string detail);

    [LoggerMessage(LoginRejectedId, LogLevel.Error, "{Detail}")]
    public static partial void LoginRejected(ILogger logger, string detail);

    [LoggerMessage(StaleResultId, LogLevel.Debug, "{Detail}")]
    public static partial void StaleResult(ILogger logger, string detail);

    [LoggerMessage(TransportThrewId, LogLevel.Warning, "The transport threw during an attempt to {Pbx}; counted as a protocol error ({ExceptionType}: {Message})")]
    public static partial void TransportThrew(ILogger logger, PbxAddress pbx, string exceptionType, string message);

    [LoggerMessage(ConnectionLostId, LogLevel.Warning, "{Detail}")]
    public static partial void ConnectionLost(ILogger logger, string detail);

    [LoggerMessage(StandbyLoginId, LogLevel.Warning, "{Detail}")]
    public static partial void StandbyLogin(ILogger logger, string detail);

    [LoggerMessage(DeterminedId, LogLevel.Information, "Determined {Detail}")]
    public static partial void Determined(ILogger logger, string detail);

    [LoggerMessage(BackoffScheduledId, LogLevel.Information, "Next round of attempts in {Delay} (at {DueAt:O})")]
    public static partial void BackoffScheduled(ILogger logger, TimeSpan delay, DateTimeOffset dueAt);

    [LoggerMessage(StandbyBackId, LogLevel.Information, "{Detail}; reconnecting from the primary PBX")]
    public static partial void StandbyBack(ILogger logger, string detail);

    [LoggerMessage(LoggedOutId, LogLevel.Error, "{Detail}")]
    public static partial void LoggedOut(ILogger logger, string detail);

    [LoggerMessage(RoundFailedId, LogLevel.Warning, "{Detail}")]
    public static partial void RoundFailed(ILogger logger, string detail);

    [LoggerMessage(ReconnectDelayedId, LogLevel.Information, "Reconnecting to {Pbx} in {Delay} (reconnect jitter)")]
    public static partial void ReconnectDelayed(ILogger logger, PbxAddress pbx, TimeSpan delay);

    [LoggerMessage(AttemptStaggeredId, LogLevel.Information, "{Detail}")]
    public static partial void AttemptStaggered(ILogger logger, string detail);

    [LoggerMessage(RedirectJoinedId, LogLevel.Information, "{Detail}")]
    public static partial void RedirectJoined(ILogger logger, string detail);

    [LoggerMessage(LoginRejectedElsewhereId, LogLevel.Warning, "{Detail}")]
    public static partial void LoginRejectedElsewhere(ILogger logger, string detail);

    [LoggerMessage(StandbyCorrectedId, LogLevel.Warning, "{Detail}")]
    public static partial void StandbyCorrected(ILogger logger, string detail);

    [LoggerMessage(AttemptAbandonedId, LogLevel.Warning, "The transport did not return from the attempt to {Pbx} within {Bound} (it ignores cancellation); attempt abandoned as timed out, a connection it returns later is closed")]
    public static partial void AttemptAbandoned(ILogger logger, PbxAddress pbx, TimeSpan bound);
}
