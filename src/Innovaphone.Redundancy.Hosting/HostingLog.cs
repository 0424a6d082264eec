using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy.Hosting;

/// <summary>The hosting package's log events (lifecycle range 1xx: 170 on, clear of the manager (100-109) and the file store (150-152)).</summary>
internal static partial class HostingLog
{
    public const int ConfiguredId = 170;
    public const int StopCutShortId = 171;
    public const int SignInRequiredId = 172;

    [LoggerMessage(EventId = ConfiguredId, Level = LogLevel.Debug, Message = "Starting the redundancy manager with {Options}")]
    public static partial void Configured(ILogger logger, string options);

    [LoggerMessage(EventId = StopCutShortId, Level = LogLevel.Warning, Message = "The host's shutdown timeout ended the manager's stop early; disposing the manager finishes it")]
    public static partial void StopCutShort(ILogger logger);

    [LoggerMessage(EventId = SignInRequiredId, Level = LogLevel.Warning, Message = "{Pbx} asks the user to sign in at the identity provider: open {Url} in a browser")]
    public static partial void SignInRequired(ILogger logger, PbxAddress pbx, string url);
}
