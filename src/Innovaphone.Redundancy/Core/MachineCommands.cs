
namespace Innovaphone.Redundancy.Core;

/// <summary>Outputs of the machine: things for the shell to do, in order, and facts for it to log.</summary>
internal abstract record MachineCommand;

/// <summary>
/// Start transport call <paramref name="AttemptId"/> to <paramref name="Target"/> with <paramref name="Scheme"/>.
/// <paramref name="AttemptNumber"/> counts the attempts since the last successful login, this one included;
/// <paramref name="Hop"/> is 0 for the first target of an attempt, n for its n-th redirect. <paramref name="Spread"/>
/// marks the first attempt after the loss of the live connection, which the shell spreads by <c>ReconnectJitter</c>
/// (a random wait the machine does not pick).
/// </summary>
internal sealed record Connect(long AttemptId, PbxAddress Target, PbxScheme Scheme, int AttemptNumber, int Hop, bool Spread = false) : MachineCommand;

/// <summary>Cancel transport call <paramref name="AttemptId"/>.</summary>
internal sealed record CancelAttempt(long AttemptId) : MachineCommand;

/// <summary>
/// Close the connection of attempt <paramref name="ConnectionId"/>: a login the machine does not adopt (late,
/// cancelled, lost a race), or the live connection.
/// </summary>
internal sealed record CloseConnection(long ConnectionId) : MachineCommand;

/// <summary>The login of attempt <paramref name="ConnectionId"/> won: its connection becomes the live one, watched for loss.</summary>
internal sealed record AdoptConnection(long ConnectionId) : MachineCommand;

/// <summary>A round failed: wait a backoff (R6), then deliver <see cref="BackoffElapsed"/> for <paramref name="TimerId"/>.</summary>
internal sealed record StartBackoff(long TimerId) : MachineCommand;

/// <summary>The failover episode is over (logged in, faulted or stopped): the next failure backs off from the start.</summary>
internal sealed record ResetBackoff : MachineCommand;

/// <summary>
/// Candidates of the round wait behind silent attempts: after the stagger delay for <paramref name="Silent"/> (the PBX
/// just tried) deliver <see cref="StaggerElapsed"/> for <paramref name="TimerId"/>; when <paramref name="Spread"/>, after
/// the reconnect's spread too. A newer stagger timer, or a state without one, makes it obsolete: the shell drops it.
/// </summary>
internal sealed record StartStagger(long TimerId, PbxAddress Silent, bool Spread = false) : MachineCommand;

/// <summary>Store the primary, the user's PBX <paramref name="Home"/>, <paramref name="Secondary"/> and the home's topology hints.</summary>
internal sealed record Persist(PbxAddress Home, PbxAddress? Secondary, PbxLoginInfo? Topology) : MachineCommand
{
    public RedundancyRecord ToRecord(MachineConfig config) =>
        new(config.Primary, Secondary, Home) { HomeAlternative = Topology?.Alternative, HomeMaster = Topology?.Master };
}

/// <summary>A fact worth a log line; changes nothing. Manager/NoteLog logs each kind of text as its own event.</summary>
internal sealed record Note(MachineText Text) : MachineCommand;
