using System.Globalization;
using Innovaphone.Redundancy.Core;

namespace Innovaphone.Redundancy.Shell;

/// <summary>
/// Turns the machine's reasons and notes (<see cref="MachineText"/>) into the text of
/// <see cref="RedundancyStateChange.Reason"/> (and of the few log fields that carry a note in words: events 107, 256,
/// 306; the other notes are logged with fields of their own by NoteLog). The machine only records codes and arguments,
/// so that deciding costs no string; the shell formats when it publishes or logs. The wording is public (docs, log
/// readers): keep it stable.
/// </summary>
internal static class MachineTextFormat
{
    public static string Format(in MachineText text)
    {
        var core = Core(text);
        return text.Wrap switch
        {
            MachineTextWrap.NoPbxReachable => "no PBX reachable; last: " + core,
            MachineTextWrap.RoundFailed => "no PBX reachable in this round; last: " + core,
            MachineTextWrap.Unstable => core + "; the connection was unstable, backing off",
            MachineTextWrap.RejectedRepeatedly => string.Create(
                CultureInfo.InvariantCulture, $"{core}; {RedundancyMachine.MaxRejectionsElsewhere} rejections in a row by PBXes other than the user's: not retrying"),
            _ => core,
        };
    }

    private static string Core(in MachineText text) => text.Code switch
    {
        MachineTextCode.NotStarted => "not started",
        MachineTextCode.Started => "started: connecting to the primary PBX",
        MachineTextCode.StoppedByHost => "stopped by the host",
        MachineTextCode.LoginRejected => string.Create(CultureInfo.InvariantCulture, $"login rejected by {text.Pbx}: {text.Detail} (error {text.Number})"),
        MachineTextCode.AttemptFailed => string.Create(CultureInfo.InvariantCulture, $"attempt to {text.Pbx} failed ({text.FailureKind}): {text.Detail}"),
        MachineTextCode.StandbyLoggedIn => $"logged in to {text.Pbx}, which acts as standby for the user's PBX{Evidence(text)}",
        MachineTextCode.StandbyLogin => $"standby login at {text.Pbx}",
        MachineTextCode.LoggedIn => text.Number > 0
            ? string.Create(CultureInfo.InvariantCulture, $"logged in to {text.Pbx} after {text.Number} redirect(s)")
            : $"logged in to {text.Pbx}",
        MachineTextCode.Determined => $"primary {text.Primary}, secondary {text.Other?.ToString() ?? "none"}, user's PBX {text.Pbx}",
        MachineTextCode.Connected => $"connected to the user's PBX {text.Pbx}",
        MachineTextCode.ConnectedRedirected => $"connected to the user's PBX {text.Pbx} (redirected)",
        MachineTextCode.RedirectSchemeRefused =>
            $"redirect from {text.Pbx} to {text.Other} refused: it changes the scheme from {Scheme(text.SchemeFrom)} to {Scheme(text.SchemeTo)}",
        MachineTextCode.RedirectLoopRefused =>
            $"redirect from {text.Pbx} to {text.Other} refused: redirect loop ({string.Join(" -> ", text.Hops)} -> {text.Other})",
        MachineTextCode.RedirectHopLimitRefused =>
            string.Create(CultureInfo.InvariantCulture, $"redirect from {text.Pbx} to {text.Other} refused: hop limit of {text.Number} reached"),
        MachineTextCode.RedirectFollowed => $"{text.Pbx} redirects to {text.Other}",
        MachineTextCode.Redirected => $"redirected from {text.Pbx} to {text.Other}",
        MachineTextCode.LoggedOut => $"session logged out by {text.Pbx}: {text.Detail}",
        MachineTextCode.StandbyBack => $"{text.Pbx} reports the user's PBX is back (StandbyBack)",
        MachineTextCode.ConnectionLost => $"connection to {text.Pbx} lost: {text.Detail}",
        MachineTextCode.BackoffOverCurrentFirst => $"backoff over: reconnecting to {text.Pbx} first",
        MachineTextCode.BackoffOverFromPrimary => "backoff over: next round from the primary PBX",
        MachineTextCode.StartWhileRunning => "start while already running",
        MachineTextCode.StopWhileStopped => "stop while already stopped",
        MachineTextCode.LateAttemptResult => string.Create(CultureInfo.InvariantCulture, $"late result of attempt {text.Number} dropped"),
        MachineTextCode.StaleConnectionLoss => "loss of a connection that is no longer current",
        MachineTextCode.StaleBackoffSchedule => "schedule of a backoff that is no longer pending",
        MachineTextCode.StaleBackoffEnd => "end of a backoff that is no longer pending",
        MachineTextCode.StaggeredAttempt => $"no answer from {text.Pbx} within the stagger delay: also trying {text.Other}",
        MachineTextCode.RedirectJoined => $"{text.Pbx} redirects to {text.Other}, which this round is trying already",
        MachineTextCode.StaleStagger => "stagger timer that is no longer pending",
        MachineTextCode.StaleAnswer => "answer of an attempt that is no longer in flight",
        MachineTextCode.LoginRejectedElsewhere => string.Create(
            CultureInfo.InvariantCulture,
            $"login rejected by {text.Pbx}, which is not the user's PBX ({text.Other?.ToString() ?? "the user's PBX is not known"}): {text.Detail} (error {text.Number}); trying on"),
        MachineTextCode.StandbyCorrected => text.Other is { } home
            ? $"{text.Pbx} sent StandbyBack, so it had kept the user as standby: the user's PBX is {home} again"
            : $"{text.Pbx} sent StandbyBack, so it had kept the user as standby: the user's PBX is not known until the next login",
        _ => throw new ArgumentOutOfRangeException(nameof(text), text.Code, "Unknown machine text."),
    };

    // Why a login is a standby login (R4): what the PBX said, or the evidence of the inference.
    private static string Evidence(in MachineText text) => (StandbyEvidence)text.Number switch
    {
        StandbyEvidence.SaidStandby => " (the PBX says so)",
        StandbyEvidence.HomeTopology => $" (inferred: it can stand in for the user's PBX {text.Other} by that PBX's alt/master)",
        StandbyEvidence.DirectElsewhere => $" (inferred: reached without a redirect, not the user's PBX {text.Other})",
        _ => string.Empty,
    };

    private static string Scheme(PbxScheme scheme) => scheme == PbxScheme.Wss ? "wss" : "ws";
}
