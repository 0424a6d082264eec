namespace Innovaphone.Redundancy.Core;

/// <summary>Inputs of the machine. Every input is one of these, fed one at a time by the shell.</summary>
internal abstract record MachineEvent;

/// <summary>The host started the manager; <paramref name="Stored"/> is what the store kept, if anything.</summary>
internal sealed record StartRequested(RedundancyRecord? Stored) : MachineEvent;

internal sealed record StopRequested : MachineEvent;

/// <summary>
/// The transport call <paramref name="AttemptId"/> ended with <paramref name="Result"/>. A login's connection stays with
/// the shell, filed under the attempt id; the machine answers with <see cref="MachineCommandKind.AdoptConnection"/> or
/// <see cref="MachineCommandKind.CloseConnection"/> for it.
/// </summary>
internal sealed record AttemptCompleted(long AttemptId, AttemptResult Result) : MachineEvent;

/// <summary>How an attempt ended, as the machine sees it: data only, no connection or other live object.</summary>
internal abstract record AttemptResult
{
    private protected AttemptResult()
    {
    }
}

/// <summary>Logged in; what the PBX told about itself and the installation.</summary>
internal sealed record LoginAccepted(PbxLoginInfo Info) : AttemptResult;

/// <summary>The PBX sends the user on to <paramref name="Target"/> with <paramref name="Scheme"/>.</summary>
internal sealed record RedirectOffered(PbxAddress Target, PbxScheme Scheme) : AttemptResult;

/// <summary>The PBX rejected the login after our credentials: its error code and text.</summary>
internal sealed record LoginDenied(int Code, string Text) : AttemptResult;

/// <summary>The attempt failed (unreachable, too slow, unusable answer, refused before credentials).</summary>
internal sealed record AttemptUnsuccessful(AttemptFailureKind Kind, string Reason) : AttemptResult;

/// <summary>
/// The live connection of attempt <paramref name="ConnectionId"/> ended; <paramref name="Unstable"/> when it ended
/// sooner after its login than the host's <c>MinStableConnection</c>.
/// </summary>
internal sealed record ConnectionLost(long ConnectionId, ConnectionLoss Loss, bool Unstable = false) : MachineEvent;

/// <summary>The shell scheduled backoff timer <paramref name="TimerId"/> to end at <paramref name="DueAt"/>, <paramref name="Delay"/> from now.</summary>
internal sealed record BackoffScheduled(long TimerId, DateTimeOffset DueAt, TimeSpan Delay) : MachineEvent;

internal sealed record BackoffElapsed(long TimerId) : MachineEvent;

/// <summary>The stagger timer <paramref name="TimerId"/> elapsed: the attempts in flight have been silent for the stagger delay.</summary>
internal sealed record StaggerElapsed(long TimerId) : MachineEvent;

/// <summary>The PBX of attempt <paramref name="AttemptId"/> answered (or asks for two-factor authorization): it keeps the floor.</summary>
internal sealed record AttemptAnswered(long AttemptId) : MachineEvent;
