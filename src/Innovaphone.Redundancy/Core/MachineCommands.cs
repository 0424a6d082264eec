using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Innovaphone.Redundancy.Core;

internal enum MachineCommandKind : byte
{
    /// <summary>Start transport call <see cref="MachineCommand.AttemptId"/> to <see cref="MachineCommand.Target"/>.</summary>
    Connect = 1,

    /// <summary>Cancel transport call <see cref="MachineCommand.AttemptId"/>.</summary>
    CancelAttempt,

    /// <summary>
    /// Close the connection of attempt <see cref="MachineCommand.ConnectionId"/>: a login the machine does not adopt (late,
    /// cancelled, lost a race), or the live connection.
    /// </summary>
    CloseConnection,

    /// <summary>A round failed: wait a backoff (R6), then deliver <see cref="BackoffElapsed"/> for <see cref="MachineCommand.TimerId"/>.</summary>
    StartBackoff,

    /// <summary>The failover episode is over (logged in, faulted or stopped): the next failure backs off from the start.</summary>
    ResetBackoff,

    /// <summary>Store the primary, <see cref="MachineCommand.Secondary"/> and <see cref="MachineCommand.Home"/>.</summary>
    Persist,

    /// <summary>A fact worth a log line (<see cref="MachineCommand.Note"/>, <see cref="MachineCommand.Text"/>); changes nothing.</summary>
    Note,

    /// <summary>
    /// Candidates of the round wait behind silent attempts: after the stagger delay for <see cref="MachineCommand.Target"/>
    /// (the PBX just tried) deliver <see cref="StaggerElapsed"/> for <see cref="MachineCommand.TimerId"/>. A newer stagger
    /// timer, or a state without one, makes it obsolete: the shell drops it.
    /// </summary>
    StartStagger,

    /// <summary>The login of attempt <see cref="MachineCommand.ConnectionId"/> won: its connection becomes the live one, watched for loss.</summary>
    AdoptConnection,
}

/// <summary>
/// Outputs of the machine: things for the shell to do, and facts for it to log. One value type for every kind, so
/// that deciding allocates nothing; which members mean something depends on <see cref="Kind"/>. The PBXes of a
/// Connect or Persist travel in the PBX slots of the command's text, so that a command holds no reference fields
/// besides those of one <see cref="MachineText"/> (each one costs a write barrier when the command is written).
/// </summary>
internal readonly record struct MachineCommand
{
    // Note: the note's text. Connect: Pbx is the target. Persist: Pbx is the user's PBX, Other the secondary.
    private MachineText Slot { get; init; }

    private MachineCommand(MachineCommandKind kind, long id = 0)
    {
        Kind = kind;
        Id = id;
    }

    public MachineCommandKind Kind { get; }

    /// <summary>The attempt (Connect, CancelAttempt), connection (CloseConnection, AdoptConnection) or timer (StartBackoff, StartStagger) id; 0 otherwise.</summary>
    public long Id { get; }

    /// <summary>Connect, CancelAttempt: the attempt id.</summary>
    public long AttemptId => Id;

    /// <summary>CloseConnection, AdoptConnection: the id of the attempt whose connection to close or adopt.</summary>
    public long ConnectionId => Id;

    /// <summary>StartBackoff, StartStagger: the timer id.</summary>
    public long TimerId => Id;

    /// <summary>Connect: the PBX to connect to; StartStagger: the PBX whose silence the timer measures.</summary>
    public PbxAddress? Target => Kind is MachineCommandKind.Connect or MachineCommandKind.StartStagger ? Slot.Pbx : null;

    /// <summary>Connect: the scheme to connect with.</summary>
    public PbxScheme Scheme { get; private init; }

    /// <summary>Connect: attempts started since the last successful login, this one included; StartBackoff: the rounds that failed.</summary>
    public int AttemptNumber { get; private init; }

    /// <summary>Connect: 0 for the first target of an attempt, n for its n-th redirect.</summary>
    public int Hop { get; private init; }

    /// <summary>
    /// Connect, StartStagger: the first attempt after the loss of the live connection, which the shell spreads by
    /// <c>ReconnectJitter</c> (a random wait the machine does not pick); its stagger timer waits that out too.
    /// </summary>
    public bool Spread { get; init; }


    /// <summary>Persist: the secondary to store.</summary>
    public PbxAddress? Secondary => Kind == MachineCommandKind.Persist ? Slot.Other : null;

    /// <summary>Persist: the user's PBX to store.</summary>
    public PbxAddress? Home => Kind == MachineCommandKind.Persist ? Slot.Pbx : null;

    public MachineNote Note { get; private init; }

    /// <summary>Note: the detail; the shell formats it only when it logs.</summary>
    public MachineText Text => Kind == MachineCommandKind.Note ? Slot : default;

    public static MachineCommand Connect(long attemptId, PbxAddress target, PbxScheme scheme, int attemptNumber, int hop) =>
        new(MachineCommandKind.Connect, attemptId) { Slot = new(MachineTextCode.NotStarted) { Pbx = target }, Scheme = scheme, AttemptNumber = attemptNumber, Hop = hop };

    public static MachineCommand CancelAttempt(long attemptId) => new(MachineCommandKind.CancelAttempt, attemptId);

    public static MachineCommand CloseConnection(long connectionId) => new(MachineCommandKind.CloseConnection, connectionId);

    public static MachineCommand AdoptConnection(long connectionId) => new(MachineCommandKind.AdoptConnection, connectionId);

    public static MachineCommand StartBackoff(long timerId, int failedRounds) =>
        new(MachineCommandKind.StartBackoff, timerId) { AttemptNumber = failedRounds };

    public static MachineCommand ResetBackoff() => new(MachineCommandKind.ResetBackoff);

    public static MachineCommand StartStagger(long timerId, PbxAddress silent) =>
        new(MachineCommandKind.StartStagger, timerId) { Slot = new(MachineTextCode.NotStarted) { Pbx = silent } };

    public static MachineCommand Persist(PbxAddress? secondary, PbxAddress home, PbxLoginInfo? topology) =>
        new(MachineCommandKind.Persist) { Slot = new(MachineTextCode.NotStarted) { Pbx = home, Other = secondary, Topology = topology } };

    public static MachineCommand NoteOf(MachineNote note, in MachineText text) => new(MachineCommandKind.Note) { Note = note, Slot = text };

    /// <summary>Persist: the record to store.</summary>
    public RedundancyRecord ToRecord(MachineConfig config) =>
        Kind == MachineCommandKind.Persist
            ? new(config.Primary, Secondary, Home) { HomeAlternative = Slot.Topology?.Alternative, HomeMaster = Slot.Topology?.Master }
            : throw WrongKind();

    private InvalidOperationException WrongKind() => new($"A {Kind} command has no such member.");
}

/// <summary>
/// The commands of one decision, held inline in six slots: no event yields more than <see cref="Capacity"/> (a login
/// yields a cancel for each other attempt in flight, at most two, two notes, a persist and the adoption; a StandbyBack
/// that corrects an inference yields two notes, a reset, a persist, a connect and a stagger timer; a stop yields three
/// cancels, a close and a reset; MachineCapacityTests drives every handler at its worst). The machine fills it through
/// <see cref="RedundancyMachine.Decide"/>.
/// </summary>
internal struct MachineCommands : IEnumerable<MachineCommand>
{
    public const int Capacity = 6;

    // Plain fields: the indexer hands out a reference to one, so reading a command copies nothing.
    internal MachineCommand First;
    internal MachineCommand Second;
    internal MachineCommand Third;
    internal MachineCommand Fourth;
    internal MachineCommand Fifth;
    internal MachineCommand Sixth;
    internal int Count;

    public readonly int Length => Count;

    /// <summary>The command at <paramref name="index"/>, by reference: a command is a large struct, and copies cost.</summary>
    [UnscopedRef]
    public readonly ref readonly MachineCommand this[int index]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((uint)index >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(index));
            }

            switch (index)
            {
                case 0: return ref First;
                case 1: return ref Second;
                case 2: return ref Third;
                case 3: return ref Fourth;
                case 4: return ref Fifth;
                default: return ref Sixth;
            }
        }
    }

    /// <summary>A copy as an array (allocates; for tests and diagnostics, not the hot path).</summary>
    public readonly MachineCommand[] ToArray()
    {
        var array = new MachineCommand[Count];
        for (var i = 0; i < Count; i++)
        {
            array[i] = this[i];
        }

        return array;
    }

    public readonly IEnumerator<MachineCommand> GetEnumerator() => ((IEnumerable<MachineCommand>)ToArray()).GetEnumerator();

    readonly IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

internal enum MachineNote : byte
{
    AttemptFailed,
    RedirectFollowed,
    RedirectRefused,
    LoggedIn,
    StandbyLogin,
    Determined,
    LoginRejected,
    ConnectionLost,
    StandbyBack,
    LoggedOut,
    RoundFailed,
    StaleEventIgnored,
    EventIgnored,
    AttemptStaggered,
    RedirectJoined,
    LoginRejectedElsewhere,
    StandbyCorrected,
}
