using System.Globalization;
using Innovaphone.Redundancy.Core;
using Innovaphone.Redundancy.Shell;
using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy;

/// <summary>
/// Logs the machine's notes (<see cref="MachineNote"/> with its <see cref="MachineText"/>) as structured events: the
/// PBXes, kinds and codes of a note are fields of their own (docs/logging.md lists them per event id), not parts of one
/// pre-formatted text. Only the wording that varies within one event (why a redirect was refused, what failed last in a
/// round) is a text field. Nothing is formatted for a level that is not enabled.
/// </summary>
internal static class NoteLog
{
    /// <summary>The value of an optional PBX field when the user's PBX is not known.</summary>
    public const string NotKnown = "not known";

    /// <summary>The value of the secondary field when there is no secondary.</summary>
    public const string None = "none";

    // The variant part of event 255 when the third rejection in a row by PBXes other than the user's faults (R9).
    private static readonly string RejectedRepeatedly = string.Create(
        CultureInfo.InvariantCulture, $"; {RedundancyMachine.MaxRejectionsElsewhere} rejections in a row by PBXes other than the user's: not retrying");

    public static void Write(ILogger logger, MachineNote note, in MachineText text)
    {
        if (!logger.IsEnabled(LevelOf(note)))
        {
            return;
        }

        switch (note)
        {
            case MachineNote.AttemptFailed: Log.AttemptFailed(logger, text.Pbx, text.FailureKind, text.Detail); break;
            case MachineNote.RedirectFollowed: Log.RedirectFollowed(logger, text.Pbx, text.Other); break;
            case MachineNote.RedirectRefused: Log.RedirectRefused(logger, text.Pbx, text.Other, Refusal(text.Code), RefusalDetail(text)); break;
            case MachineNote.LoggedIn: Log.LoggedIn(logger, text.Pbx, text.Number); break;
            case MachineNote.StandbyLogin: Log.StandbyLogin(logger, text.Pbx, Optional(text.Other, NotKnown), (StandbyEvidence)text.Number); break;
            case MachineNote.Determined: Log.Determined(logger, text.Primary, Optional(text.Other, None), text.Pbx); break;
            case MachineNote.LoginRejected: Log.LoginRejected(logger, text.Pbx, text.Detail, text.Number, RejectionDetail(text.Wrap)); break;
            case MachineNote.ConnectionLost: Log.ConnectionLost(logger, text.Pbx, text.Detail); break;
            case MachineNote.StandbyBack: Log.StandbyBack(logger, text.Pbx); break;
            case MachineNote.LoggedOut: Log.LoggedOut(logger, text.Pbx, text.Detail); break;
            case MachineNote.RoundFailed: Log.RoundFailed(logger, text.Pbx, MachineTextFormat.Format(text with { Wrap = MachineTextWrap.None })); break;
            case MachineNote.StaleEventIgnored: Log.StaleResult(logger, text.Code, MachineTextFormat.Format(text)); break;
            case MachineNote.AttemptStaggered: Log.AttemptStaggered(logger, text.Pbx, text.Other); break;
            case MachineNote.RedirectJoined: Log.RedirectJoined(logger, text.Pbx, text.Other); break;
            case MachineNote.LoginRejectedElsewhere: Log.LoginRejectedElsewhere(logger, text.Pbx, Optional(text.Other, NotKnown), text.Detail, text.Number); break;
            case MachineNote.StandbyCorrected: Log.StandbyCorrected(logger, text.Pbx, Optional(text.Other, NotKnown)); break;
            default: Log.EventIgnored(logger, text.Code, MachineTextFormat.Format(text)); break;
        }
    }

    /// <summary>The event id a note is logged with (public contract, docs/logging.md).</summary>
    public static int EventIdOf(MachineNote note) => note switch
    {
        MachineNote.AttemptFailed => Log.AttemptFailedId,
        MachineNote.RedirectFollowed => Log.RedirectFollowedId,
        MachineNote.RedirectRefused => Log.RedirectRefusedId,
        MachineNote.LoggedIn => Log.LoggedInId,
        MachineNote.StandbyLogin => Log.StandbyLoginId,
        MachineNote.Determined => Log.DeterminedId,
        MachineNote.LoginRejected => Log.LoginRejectedId,
        MachineNote.ConnectionLost => Log.ConnectionLostId,
        MachineNote.StandbyBack => Log.StandbyBackId,
        MachineNote.LoggedOut => Log.LoggedOutId,
        MachineNote.RoundFailed => Log.RoundFailedId,
        MachineNote.StaleEventIgnored => Log.StaleResultId,
        MachineNote.AttemptStaggered => Log.AttemptStaggeredId,
        MachineNote.RedirectJoined => Log.RedirectJoinedId,
        MachineNote.LoginRejectedElsewhere => Log.LoginRejectedElsewhereId,
        MachineNote.StandbyCorrected => Log.StandbyCorrectedId,
        _ => Log.EventIgnoredId,
    };

    /// <summary>The level of the note's event (the same as its [LoggerMessage]; LoggingDocsTests checks that).</summary>
    public static LogLevel LevelOf(MachineNote note) => note switch
    {
        MachineNote.StaleEventIgnored or MachineNote.EventIgnored => LogLevel.Debug,
        MachineNote.LoginRejected or MachineNote.LoggedOut => LogLevel.Error,
        // Warning is for what needs a person (a redirect loop, a rejection); ordinary failover steps are the state lines'.
        MachineNote.RedirectRefused or MachineNote.LoginRejectedElsewhere => LogLevel.Warning,
        _ => LogLevel.Information,
    };

    private static string Optional(PbxAddress? pbx, string absent) => pbx?.ToString() ?? absent;

    private static string Refusal(MachineTextCode code) => code switch
    {
        MachineTextCode.RedirectSchemeRefused => "SchemeChange",
        MachineTextCode.RedirectLoopRefused => "Loop",
        _ => "HopLimit",
    };

    // The wording after "refused: " in the state change's reason (MachineTextFormat), so that log and reason read alike.
    private static string RefusalDetail(in MachineText text) => text.Code switch
    {
        MachineTextCode.RedirectSchemeRefused => $"it changes the scheme from {Scheme(text.SchemeFrom)} to {Scheme(text.SchemeTo)}",
        MachineTextCode.RedirectLoopRefused => $"redirect loop ({string.Join(" -> ", text.Hops)} -> {text.Other})",
        _ => string.Create(CultureInfo.InvariantCulture, $"hop limit of {text.Number} reached"),
    };

    private static string RejectionDetail(MachineTextWrap wrap) => wrap == MachineTextWrap.RejectedRepeatedly
        ? RejectedRepeatedly
        : string.Empty;

    private static string Scheme(PbxScheme scheme) => scheme == PbxScheme.Wss ? "wss" : "ws";
}
