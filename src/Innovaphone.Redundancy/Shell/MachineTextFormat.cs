using System.Globalization;
using Innovaphone.Redundancy.Core;

namespace Innovaphone.Redundancy.Shell;

/// <summary>
/// Words the machine's reasons (<see cref="MachineText"/>) as the text of <see cref="RedundancyStateChange.Reason"/>,
/// and gives the few log fields that carry words (events 107, 254, 255, 256, 306; NoteLog logs every other part of a
/// note as a field of its own). The machine only records facts, so that deciding costs no string; the shell words them
/// when it publishes or logs. The wording is public (docs, log readers): keep it stable.
/// </summary>
internal static class MachineTextFormat
{
    /// <summary>The end of the fault reason (and of event 255) after the last of the rejections in a row by PBXes other than the user's (R9).</summary>
    public static readonly string RejectedRepeatedly = string.Create(
        CultureInfo.InvariantCulture, $"; {RedundancyMachine.MaxRejectionsElsewhere} rejections in a row by PBXes other than the user's: not retrying");

    public static string Format(MachineText text) => text switch
    {
        MachineText.NotStarted => "not started",
        MachineText.Started => "started: connecting to the primary PBX",
        MachineText.StoppedByHost => "stopped by the host",
        MachineText.BackoffOver { CurrentFirst: { } current } => $"backoff over: reconnecting to {current} first",
        MachineText.BackoffOver => "backoff over: next round from the primary PBX",
        MachineText.AttemptFailure t => string.Create(CultureInfo.InvariantCulture, $"attempt to {t.Pbx} failed ({t.Outcome.Kind}): {t.Outcome.Reason}"),
        MachineText.LoginRejected t => string.Create(CultureInfo.InvariantCulture, $"login rejected by {t.Pbx}: {t.Outcome.Text} (error {t.Outcome.Code})")
            + (t.Repeatedly ? RejectedRepeatedly : string.Empty),
        MachineText.LoginRejectedElsewhere t => string.Create(
            CultureInfo.InvariantCulture,
            $"login rejected by {t.Pbx}, which is not the user's PBX ({t.Home?.ToString() ?? "the user's PBX is not known"}): {t.Outcome.Text} (error {t.Outcome.Code}); trying on"),
        MachineText.HomeLogin { Redirects: > 0 } t => $"connected to the user's PBX {t.Pbx} (redirected)",
        MachineText.HomeLogin t => $"connected to the user's PBX {t.Pbx}",
        MachineText.StandbyLogin t => $"standby login at {t.Pbx}",
        MachineText.Determined t => $"primary {t.Primary}, secondary {t.Secondary?.ToString() ?? "none"}, user's PBX {t.Home}",
        MachineText.RedirectFollowed t => $"redirected from {t.From} to {t.To}",
        MachineText.RedirectJoined t => $"{t.From} redirects to {t.To}, which this round is trying already",
        MachineText.RedirectRefused t => $"redirect from {t.From} to {t.To} refused: {RefusalDetail(t)}",
        MachineText.AttemptStaggered t => $"no answer from {t.Silent} within the stagger delay: also trying {t.Next}",
        MachineText.RoundFailed t => "no PBX reachable; last: " + Format(t.Last),
        MachineText.ConnectionEnded t => Ended(t) + (t.BackingOff ? "; the connection was unstable, backing off" : string.Empty),
        MachineText.StandbyCorrected { Home: { } home } t =>
            $"{t.Standby} sent StandbyBack, so it had kept the user as standby: the user's PBX is {home} again",
        MachineText.StandbyCorrected t =>
            $"{t.Standby} sent StandbyBack, so it had kept the user as standby: the user's PBX is not known until the next login",
        MachineText.Ignored t => Ignored(t),
        _ => throw new ArgumentOutOfRangeException(nameof(text), text.GetType().Name, "Unknown machine text."),
    };

    /// <summary>Why a redirect was refused: the wording after "refused: " in the reason, and the Detail field of event 254.</summary>
    public static string RefusalDetail(MachineText.RedirectRefused refused) => refused switch
    {
        MachineText.RedirectSchemeRefused t => $"it changes the scheme from {Scheme(t.Scheme)} to {Scheme(t.Asked)}",
        MachineText.RedirectLoopRefused t => $"redirect loop ({string.Join(" -> ", t.Hops)} -> {t.To})",
        MachineText.RedirectHopLimitRefused t => string.Create(CultureInfo.InvariantCulture, $"hop limit of {t.Limit} reached"),
        _ => throw new ArgumentOutOfRangeException(nameof(refused), refused.GetType().Name, "Unknown redirect refusal."),
    };

    private static string Ended(MachineText.ConnectionEnded t) => t.Loss.Kind switch
    {
        ConnectionLossKind.LoggedOut => $"session logged out by {t.Pbx}: {t.Loss.Reason}",
        ConnectionLossKind.StandbyBack => $"{t.Pbx} reports the user's PBX is back (StandbyBack)",
        _ => $"connection to {t.Pbx} lost: {t.Loss.Reason}",
    };

    private static string Ignored(MachineText.Ignored t) => t.Event switch
    {
        IgnoredEvent.StartWhileRunning => "start while already running",
        IgnoredEvent.StopWhileStopped => "stop while already stopped",
        IgnoredEvent.LateAttemptResult => string.Create(CultureInfo.InvariantCulture, $"late result of attempt {t.AttemptId} dropped"),
        IgnoredEvent.StaleConnectionLoss => "loss of a connection that is no longer current",
        IgnoredEvent.StaleBackoffSchedule => "schedule of a backoff that is no longer pending",
        IgnoredEvent.StaleBackoffEnd => "end of a backoff that is no longer pending",
        IgnoredEvent.StaleStagger => "stagger timer that is no longer pending",
        IgnoredEvent.StaleAnswer => "answer of an attempt that is no longer in flight",
        _ => throw new ArgumentOutOfRangeException(nameof(t), t.Event, "Unknown ignored event."),
    };

    private static string Scheme(PbxScheme scheme) => scheme == PbxScheme.Wss ? "wss" : "ws";
}
