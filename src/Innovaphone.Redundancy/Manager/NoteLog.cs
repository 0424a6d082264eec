using Innovaphone.Redundancy.Core;
using Innovaphone.Redundancy.Shell;
using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy;

/// <summary>
/// Logs the machine's notes (<see cref="Note"/>) as structured events, one event per kind of <see cref="MachineText"/>:
/// the PBXes, kinds and codes of a note are fields of their own (docs/logging.md lists them per event id), not parts of
/// one pre-formatted text. Only the wording that varies within one event (why a redirect was refused, what failed last
/// in a round) is a text field. Nothing is formatted for a level that is not enabled.
/// </summary>
internal static class NoteLog
{
    /// <summary>The value of an optional PBX field when the user's PBX is not known.</summary>
    public const string NotKnown = "not known";

    /// <summary>The value of the secondary field when there is no secondary.</summary>
    public const string None = "none";

    public static void Write(ILogger logger, MachineText text)
    {
        if (!logger.IsEnabled(LevelOf(text)))
        {
            return;
        }

        switch (text)
        {
            case MachineText.AttemptFailure t: Log.AttemptFailed(logger, t.Pbx, t.Outcome.Kind, t.Outcome.Reason); break;
            case MachineText.RedirectFollowed t: Log.RedirectFollowed(logger, t.From, t.To); break;
            case MachineText.RedirectRefused t: Log.RedirectRefused(logger, t.From, t.To, Refusal(t), MachineTextFormat.RefusalDetail(t)); break;
            case MachineText.HomeLogin t: Log.LoggedIn(logger, t.Pbx, t.Redirects); break;
            case MachineText.StandbyLogin t: Log.StandbyLogin(logger, t.Pbx, Optional(t.Home, NotKnown), t.Evidence); break;
            case MachineText.Determined t: Log.Determined(logger, t.Primary, Optional(t.Secondary, None), t.Home); break;
            case MachineText.LoginRejected t:
                Log.LoginRejected(logger, t.Pbx, t.Outcome.Text, t.Outcome.Code, t.Repeatedly ? MachineTextFormat.RejectedRepeatedly : string.Empty);
                break;
            case MachineText.ConnectionEnded { Loss.Kind: ConnectionLossKind.StandbyBack } t: Log.StandbyBack(logger, t.Pbx); break;
            case MachineText.ConnectionEnded { Loss.Kind: ConnectionLossKind.LoggedOut } t: Log.LoggedOut(logger, t.Pbx, t.Loss.Reason); break;
            case MachineText.ConnectionEnded t: Log.ConnectionLost(logger, t.Pbx, t.Loss.Reason); break;
            case MachineText.RoundFailed t: Log.RoundFailed(logger, t.LastTried, MachineTextFormat.Format(t.Last)); break;
            case MachineText.Ignored { Stale: true } t: Log.StaleResult(logger, t.Event, MachineTextFormat.Format(t)); break;
            case MachineText.Ignored t: Log.EventIgnored(logger, t.Event, MachineTextFormat.Format(t)); break;
            case MachineText.AttemptStaggered t: Log.AttemptStaggered(logger, t.Silent, t.Next); break;
            case MachineText.RedirectJoined t: Log.RedirectJoined(logger, t.From, t.To); break;
            case MachineText.LoginRejectedElsewhere t: Log.LoginRejectedElsewhere(logger, t.Pbx, Optional(t.Home, NotKnown), t.Outcome.Text, t.Outcome.Code); break;
            case MachineText.StandbyCorrected t: Log.StandbyCorrected(logger, t.Standby, Optional(t.Home, NotKnown)); break;
            default: throw new ArgumentOutOfRangeException(nameof(text), text.GetType().Name, "Not a note.");
        }
    }

    /// <summary>
    /// The level of the note's event, so that nothing is formatted for a level that is not enabled: the same as its
    /// [LoggerMessage] (NoteLogTests checks that).
    /// </summary>
    public static LogLevel LevelOf(MachineText note) => note switch
    {
        MachineText.Ignored => LogLevel.Debug,
        MachineText.LoginRejected or MachineText.ConnectionEnded { Loss.Kind: ConnectionLossKind.LoggedOut } => LogLevel.Error,
        // Warning is for what needs a person (a redirect loop, a rejection); ordinary failover steps are the state lines'.
        MachineText.RedirectRefused or MachineText.LoginRejectedElsewhere => LogLevel.Warning,
        _ => LogLevel.Information,
    };

    private static string Optional(PbxAddress? pbx, string absent) => pbx?.ToString() ?? absent;

    private static string Refusal(MachineText.RedirectRefused refused) => refused switch
    {
        MachineText.RedirectSchemeRefused => "SchemeChange",
        MachineText.RedirectLoopRefused => "Loop",
        _ => "HopLimit",
    };
}
