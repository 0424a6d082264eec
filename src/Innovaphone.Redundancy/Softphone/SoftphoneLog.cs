using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy.Softphone;

/// <summary>
/// The softphone registrar's log events (category <c>Innovaphone.Redundancy.Softphone.SoftphoneRegistrar</c>).
/// Event ids 4xx are public contract (docs/logging.md). Messages carry PBX addresses and the physical location only.
/// </summary>
internal static partial class SoftphoneLog
{
    public const int DecisionChangedId = 400;
    public const int RedirectRefusedId = 401;
    public const int ReportIgnoredId = 402;
    public const int SubscriberFailedId = 403;

    [LoggerMessage(DecisionChangedId, LogLevel.Information, "Softphone registration: {Decision}")]
    public static partial void DecisionChanged(ILogger logger, SoftphoneRegistration decision);

    [LoggerMessage(RedirectRefusedId, LogLevel.Warning, "Softphone redirect refused ({Detail}); {Decision}")]
    public static partial void RedirectRefused(ILogger logger, string detail, SoftphoneRegistration decision);

    [LoggerMessage(ReportIgnoredId, LogLevel.Debug, "Softphone report ignored: {Detail}")]
    public static partial void ReportIgnored(ILogger logger, string detail);

    [LoggerMessage(SubscriberFailedId, LogLevel.Error, "A subscriber threw while handling a softphone registration decision; it keeps its subscription")]
    public static partial void SubscriberFailed(ILogger logger, Exception exception);
}
