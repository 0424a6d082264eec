namespace Innovaphone.Redundancy.Core;

/// <summary>Inputs of the machine. Every input is one of these, fed one at a time by the shell.</summary>
internal abstract record MachineEvent;

/// <summary>The host started the manager; <paramref name="Stored"/> is what the store kept, if anything.</summary>
internal sealed record StartRequested(RedundancyRecord? Stored) : MachineEvent;

internal sealed record StopRequested : MachineEvent;

/// <summary>
/// The transport call <paramref name="AttemptId"/> ended with <paramref name="Outcome"/>, as the transport returned it.
/// The machine reads only its data: a login's connection stays with the shell, filed under the attempt id, and the
/// machine answers with <see cref="AdoptConnection"/> or <see cref="CloseConnection"/> for it (CorePurityTests checks
/// that the machine never touches <see cref="LoggedIn.Connection"/>).
/// </summary>
internal sealed record AttemptCompleted(long AttemptId, LoginOutcome Outcome) : MachineEvent;

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
