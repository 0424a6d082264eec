using System.Collections;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Innovaphone.Redundancy.Persistence;
using Innovaphone.Redundancy.Transport;

namespace Innovaphone.Redundancy.Core;

/// <summary>The fixed inputs of the machine: what the host configured.</summary>
internal sealed record MachineConfig(PbxAddress Primary, PbxScheme Scheme, int MaxRedirectHops, string? Phys);

/// <summary>
/// The whole state of the redundancy machine. A value: <see cref="RedundancyMachine.Decide"/> writes the next state
/// over the one its caller hands it, field by field, and touches no other copy; whoever holds a copy owns it. A value
/// type, so that a transition costs no allocation (the machine runs on every event of every manager); its members are
/// settable so that the machine can write the next state in place instead of copying it from call to call (copies of
/// a struct holding references cost a write barrier each).
/// Ids for attempts and timers come from one sequence (<see cref="NextId"/>), so that a late event of an
/// abandoned attempt or timer can never be mistaken for the current one.
/// </summary>
internal record struct MachineState
{
    public MachineState()
    {
    }

    public static MachineState Initial { get; } = new();

    public RedundancyState Phase { get; set; } = RedundancyState.Idle;

    /// <summary>Why the machine is in <see cref="Phase"/>; the shell turns it into text when it publishes or logs.</summary>
    public MachineText Reason { get; set; } = new(MachineTextCode.NotStarted);

    public PbxAddress? Secondary { get; set; }

    /// <summary>The user's PBX as found at the last non-standby login (for standby inference, R4).</summary>
    public PbxAddress? Home { get; set; }

    /// <summary>
    /// The topology hints (<c>alt</c>, <c>master</c>) the user's PBX gave at that login: which PBXes can stand in for it
    /// (R4 inference). <see langword="null"/> when not known (never logged in there, or it named neither).
    /// </summary>
    public PbxLoginInfo? HomeTopology { get; set; }

    /// <summary>
    /// What <see cref="Home"/>, <see cref="Secondary"/> and <see cref="HomeTopology"/> were before the login of the live
    /// connection rewrote them (null when it rewrote nothing), so that a StandbyBack from that PBX can take back an
    /// inference it proved wrong (R4).
    /// </summary>
    public HomeSnapshot? HomeBefore { get; set; }

    /// <summary>Logins rejected since the last login by PBXes other than the user's (R9); the third faults.</summary>
    public int RejectionsElsewhere { get; set; }

    /// <summary>The PBX of the live connection; while down, the PBX last connected to (connInfo <c>cur</c>).</summary>
    public PbxAddress? Current { get; set; }

    public long NextId { get; set; } = 1;

    /// <summary>
    /// The transport calls in flight (staggered attempts: at most one per PBX of the round, so at most three), each with
    /// its target, scheme, redirect hops and whether its PBX has answered.
    /// </summary>
    public AttemptSet Attempts { get; set; }

    /// <summary>The most recently started attempt in flight (the one a state change is about), if any.</summary>
    public readonly long? AttemptId => Attempts.Count == 0 ? null : Attempts.Lead.Id;

    /// <summary>The PBX of <see cref="AttemptId"/>.</summary>
    public readonly PbxAddress? AttemptTarget => Attempts.Count == 0 ? null : Attempts.Lead.Target;

    /// <summary>The PBXes visited by <see cref="AttemptId"/>: its first target, then each redirect target.</summary>
    public readonly HopPath Hops => Attempts.Count == 0 ? default : Attempts.Lead.Hops;

    /// <summary>The PBXes still to try in this round, in order.</summary>
    public PbxRound Pending { get; set; }

    /// <summary>
    /// The stagger timer pending while candidates of the round wait (R7 staggered attempts): when it elapses and no
    /// attempt in flight has answered, the next candidate starts beside them.
    /// </summary>
    public long? StaggerTimerId { get; set; }

    /// <summary>Connections lost right after their login (MinStableConnection), one after the other; the second one backs off.</summary>
    public int EarlyLosses { get; set; }

    /// <summary>Attempts started since the last successful login.</summary>
    public int AttemptNumber { get; set; }

    /// <summary>The attempt id whose connection is live, if any.</summary>
    public long? ConnectionId { get; set; }

    /// <summary>The backoff timer pending in <see cref="RedundancyState.Failover"/>, if any.</summary>
    public long? TimerId { get; set; }

    /// <summary>Whether the round after the pending backoff starts at the current PBX (R7 after an unstable connection).</summary>
    public bool CurrentFirst { get; set; }

    /// <summary>When the pending backoff ends, once the shell has scheduled it.</summary>
    public DateTimeOffset? NextAttemptAt { get; set; }

    public readonly bool IsUp => Phase is RedundancyState.Connected or RedundancyState.Standby;

    /// <summary>
    /// Whether the phase is ready to be announced: Failover only once its next attempt time is known
    /// (<see cref="BackoffScheduled"/>), so that a host that sees Failover can move a clock to NextAttemptAt.
    /// </summary>
    public readonly bool IsAnnounceable => !(Phase == RedundancyState.Failover && NextAttemptAt is null);

    /// <summary>The PBX a state change is about.</summary>
    public readonly PbxAddress? Target => AttemptTarget ?? Current;

    /// <summary>Whether <paramref name="pbx"/> is the target of an attempt in flight.</summary>
    public readonly bool IsInFlight(PbxAddress pbx) => Attempts.Targets(pbx);

    public readonly ConnInfo ToConnInfo(MachineConfig config) =>
        new(IsUp, Phase == RedundancyState.Standby, Current, config.Primary, Secondary, config.Phys);
}

/// <summary>
/// The PBXes visited in one attempt: its first target, then each redirect target. Starting an attempt allocates
/// nothing; only following a redirect (rare) allocates, one array.
/// </summary>
internal readonly record struct HopPath : IEnumerable<PbxAddress>
{
    private HopPath(PbxAddress first, ImmutableArray<PbxAddress> redirects)
    {
        First = first;
        Redirects = redirects;
    }

    /// <summary>The first target of the attempt; null when no attempt is in flight.</summary>
    public PbxAddress? First { get; }

    /// <summary>The redirect targets followed so far; default (not merely empty) until the first redirect.</summary>
    public ImmutableArray<PbxAddress> Redirects { get; }

    /// <summary>How many PBXes the attempt visited: 0 with no attempt, 1 before any redirect.</summary>
    public int Length => First is null ? 0 : 1 + RedirectCount;

    public int RedirectCount => Redirects.IsDefault ? 0 : Redirects.Length;

    public static HopPath Start(PbxAddress first) => new(first, default);

    /// <summary>The path with <paramref name="target"/> appended: allocates one array.</summary>
    public HopPath Add(PbxAddress target)
    {
        if (First is null)
        {
            throw new InvalidOperationException("A redirect needs an attempt in flight.");
        }

        return new(First, Redirects.IsDefault ? ImmutableArray.Create(target) : Redirects.Add(target));
    }

    public bool Contains(PbxAddress pbx)
    {
        if (First is null)
        {
            return false;
        }

        if (First == pbx)
        {
            return true;
        }

        if (!Redirects.IsDefault)
        {
            foreach (var hop in Redirects)
            {
                if (hop == pbx)
                {
                    return true;
                }
            }
        }

        return false;
    }

    public IEnumerator<PbxAddress> GetEnumerator()
    {
        if (First is null)
        {
            yield break;
        }

        yield return First;
        if (!Redirects.IsDefault)
        {
            foreach (var hop in Redirects)
            {
                yield return hop;
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>The PBXes of a round still to try, in order: at most three (current, primary, secondary), held inline.</summary>
internal readonly record struct PbxRound(PbxAddress? First, PbxAddress? Second = null, PbxAddress? Third = null)
{
    public bool IsEmpty => First is null;

    public int Count => First is null ? 0 : Second is null ? 1 : Third is null ? 2 : 3;

    /// <summary>The round without its first PBX.</summary>
    public PbxRound Rest => new(Second, Third, null);

    /// <summary>The round with <paramref name="pbx"/> in front; a round holds at most three.</summary>
    public PbxRound Prepend(PbxAddress pbx) =>
        Third is null ? new(pbx, First, Second) : throw new InvalidOperationException("A round holds at most three PBXes.");

    /// <summary>The PBXes in order (the compiler's version would recurse through <see cref="Rest"/>).</summary>
    public override string ToString() => "[" + string.Join(", ", new[] { First, Second, Third }.Where(p => p is not null)) + "]";
}

/// <summary>What decided whether a login is a standby login (R4); the number of a StandbyLoggedIn note.</summary>
internal enum StandbyEvidence : byte
{
    /// <summary>The PBX said it acts as standby.</summary>
    SaidStandby,

    /// <summary>The PBX said it does not act as standby.</summary>
    SaidHome,

    /// <summary>The user's PBX is not known, or this is it.</summary>
    NoOtherHome,

    /// <summary>The redirect chain passed through the user's PBX, which sent the user on.</summary>
    HomeSentOn,

    /// <summary>This PBX can stand in for the user's PBX by its hints: its standby, its master, or a slave of it when it is a master.</summary>
    HomeTopology,

    /// <summary>The hints of the user's PBX rule this PBX out as its standby: taken for the user's PBX now.</summary>
    NotInHomeTopology,

    /// <summary>No hints of the user's PBX; the redirect chain ended here.</summary>
    RedirectEnd,

    /// <summary>No hints of the user's PBX; reached directly elsewhere than the user's PBX.</summary>
    DirectElsewhere,
}

/// <summary>The user's PBX, the secondary and the home's topology hints as they were before a login rewrote them.</summary>
internal sealed record HomeSnapshot(PbxAddress? Home, PbxAddress? Secondary, PbxLoginInfo? Topology);

/// <summary>One transport call in flight: its id, where it is (first target or latest redirect target), with which scheme, the hops so far, and whether that PBX has answered.</summary>
internal readonly record struct InFlightAttempt(long Id, PbxAddress Target, PbxScheme Scheme, HopPath Hops, bool Answered);

/// <summary>
/// The attempts in flight, in the order they started, held inline: a round has at most three PBXes and never two
/// attempts to one PBX, so three slots suffice. A redirect keeps the slot of the attempt it continues.
/// </summary>
internal readonly record struct AttemptSet
{
    public const int Capacity = 3;

    private readonly InFlightAttempt _first;
    private readonly InFlightAttempt _second;
    private readonly InFlightAttempt _third;

    private AttemptSet(in InFlightAttempt first, in InFlightAttempt second, in InFlightAttempt third, int count)
    {
        _first = first;
        _second = second;
        _third = third;
        Count = count;
    }

    public int Count { get; }

    public InFlightAttempt this[int index] => (uint)index >= (uint)Count
        ? throw new ArgumentOutOfRangeException(nameof(index))
        : index switch { 0 => _first, 1 => _second, _ => _third };

    /// <summary>The most recently started (highest id) attempt; the set must not be empty.</summary>
    public InFlightAttempt Lead
    {
        get
        {
            var lead = this[0];
            for (var i = 1; i < Count; i++)
            {
                if (this[i].Id > lead.Id)
                {
                    lead = this[i];
                }
            }

            return lead;
        }
    }

    public bool AnyAnswered
    {
        get
        {
            for (var i = 0; i < Count; i++)
            {
                if (this[i].Answered)
                {
                    return true;
                }
            }

            return false;
        }
    }

    public int IndexOf(long id)
    {
        for (var i = 0; i < Count; i++)
        {
            if (this[i].Id == id)
            {
                return i;
            }
        }

        return -1;
    }

    public bool Targets(PbxAddress pbx)
    {
        for (var i = 0; i < Count; i++)
        {
            if (this[i].Target == pbx)
            {
                return true;
            }
        }

        return false;
    }

    public AttemptSet Add(in InFlightAttempt attempt) => Count switch
    {
        0 => new(attempt, default, default, 1),
        1 => new(_first, attempt, default, 2),
        2 => new(_first, _second, attempt, 3),
        _ => throw new InvalidOperationException("At most three attempts are in flight."),
    };

    public AttemptSet RemoveAt(int index) => (index, Count) switch
    {
        (0, 1) => default,
        (0, 2) => new(_second, default, default, 1),
        (1, 2) => new(_first, default, default, 1),
        (0, 3) => new(_second, _third, default, 2),
        (1, 3) => new(_first, _third, default, 2),
        (2, 3) => new(_first, _second, default, 2),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public AttemptSet ReplaceAt(int index, in InFlightAttempt attempt) => index switch
    {
        _ when (uint)index >= (uint)Count => throw new ArgumentOutOfRangeException(nameof(index)),
        0 => new(attempt, _second, _third, Count),
        1 => new(_first, attempt, _third, Count),
        _ => new(_first, _second, attempt, Count),
    };
}

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

/// <summary>
/// What a reason or a note says, as a code and its arguments: the machine decides without formatting text;
/// the shell formats it (Shell/MachineTextFormat) only when it publishes or logs. Which arguments a code uses
/// is listed with the code.
/// </summary>
/// <remarks>
/// Kept small, because the machine writes one into the state and into most commands on every transition: no code uses
/// more than one of <see cref="Detail"/>, <see cref="Primary"/>, <see cref="Topology"/> and <see cref="Hops"/>, so they share one reference
/// field, and the codes are bytes. Each reference field of a struct costs a write barrier whenever the struct is written.
/// </remarks>
internal readonly record struct MachineText(MachineTextCode Code)
{
    // Detail (a string), Primary (a PbxAddress), Topology (a Persist's hints) or Hops (a boxed HopPath, only for a redirect loop, which is rare).
    private readonly object? _extra;

    /// <summary>How the text is wrapped around what <see cref="Code"/> says.</summary>
    public MachineTextWrap Wrap { get; init; }

    /// <summary>The PBX the text is about (for a redirect: the PBX that redirected).</summary>
    public PbxAddress? Pbx { get; init; }

    /// <summary>A second PBX: the redirect target, or the secondary.</summary>
    public PbxAddress? Other { get; init; }

    /// <summary>A third PBX: the primary.</summary>
    public PbxAddress? Primary
    {
        get => _extra as PbxAddress;
        init => _extra = value;
    }

    /// <summary>The topology hints of the user's PBX (a Persist command).</summary>
    public PbxLoginInfo? Topology
    {
        get => _extra as PbxLoginInfo;
        init => _extra = value;
    }

    /// <summary>Text that came with the event: a PBX's error text, a failure or loss reason.</summary>
    public string? Detail
    {
        get => _extra as string;
        init => _extra = value;
    }

    /// <summary>A number: an error code, a hop limit, a redirect count or an attempt id.</summary>
    public long Number { get; init; }

    public AttemptFailureKind FailureKind { get; init; }

    /// <summary>The scheme of the attempt a redirect would have changed.</summary>
    public PbxScheme SchemeFrom { get; init; }

    /// <summary>The scheme a redirect asked for.</summary>
    public PbxScheme SchemeTo { get; init; }

    /// <summary>The hops of the attempt (a redirect loop); setting a non-empty path boxes it (one allocation).</summary>
    public HopPath Hops
    {
        get => _extra is HopPath hops ? hops : default;
        init => _extra = value.First is null ? null : value;
    }
}

internal enum MachineTextCode : byte
{
    /// <summary>The initial reason.</summary>
    NotStarted,

    Started,

    StoppedByHost,

    /// <summary><see cref="MachineText.Pbx"/> rejected the login: <see cref="MachineText.Detail"/>, error <see cref="MachineText.Number"/>.</summary>
    LoginRejected,

    /// <summary>The attempt to <see cref="MachineText.Pbx"/> failed (<see cref="MachineText.FailureKind"/>): <see cref="MachineText.Detail"/>.</summary>
    AttemptFailed,

    /// <summary>Logged in to <see cref="MachineText.Pbx"/>, which acts as standby (the note).</summary>
    StandbyLoggedIn,

    /// <summary>Standby login at <see cref="MachineText.Pbx"/> (the reason).</summary>
    StandbyLogin,

    /// <summary>Logged in to <see cref="MachineText.Pbx"/>, after <see cref="MachineText.Number"/> redirects when that is not 0.</summary>
    LoggedIn,

    /// <summary>Determined: <see cref="MachineText.Primary"/>, secondary <see cref="MachineText.Other"/>, user's PBX <see cref="MachineText.Pbx"/>.</summary>
    Determined,

    /// <summary>Connected to the user's PBX <see cref="MachineText.Pbx"/>.</summary>
    Connected,

    /// <summary>Connected to the user's PBX <see cref="MachineText.Pbx"/> after a redirect.</summary>
    ConnectedRedirected,

    /// <summary>The redirect from <see cref="MachineText.Pbx"/> to <see cref="MachineText.Other"/> would change the scheme.</summary>
    RedirectSchemeRefused,

    /// <summary>The redirect from <see cref="MachineText.Pbx"/> to <see cref="MachineText.Other"/> closes a loop over <see cref="MachineText.Hops"/>.</summary>
    RedirectLoopRefused,

    /// <summary>The redirect from <see cref="MachineText.Pbx"/> to <see cref="MachineText.Other"/> exceeds the hop limit <see cref="MachineText.Number"/>.</summary>
    RedirectHopLimitRefused,

    /// <summary><see cref="MachineText.Pbx"/> redirects to <see cref="MachineText.Other"/> (the note).</summary>
    RedirectFollowed,

    /// <summary>Redirected from <see cref="MachineText.Pbx"/> to <see cref="MachineText.Other"/> (the reason).</summary>
    Redirected,

    /// <summary><see cref="MachineText.Pbx"/> logged the session out: <see cref="MachineText.Detail"/>.</summary>
    LoggedOut,

    /// <summary><see cref="MachineText.Pbx"/> reports the user's PBX is back.</summary>
    StandbyBack,

    /// <summary>The connection to <see cref="MachineText.Pbx"/> was lost: <see cref="MachineText.Detail"/>.</summary>
    ConnectionLost,

    /// <summary>The backoff is over; reconnecting to <see cref="MachineText.Pbx"/> first.</summary>
    BackoffOverCurrentFirst,

    /// <summary>The backoff is over; the next round starts at the primary.</summary>
    BackoffOverFromPrimary,

    StartWhileRunning,

    StopWhileStopped,

    /// <summary>A late result of attempt <see cref="MachineText.Number"/>.</summary>
    LateAttemptResult,

    StaleConnectionLoss,

    StaleBackoffSchedule,

    StaleBackoffEnd,

    /// <summary><see cref="MachineText.Pbx"/> has not answered within the stagger delay; <see cref="MachineText.Other"/> starts beside it.</summary>
    StaggeredAttempt,

    /// <summary>The redirect from <see cref="MachineText.Pbx"/> leads to <see cref="MachineText.Other"/>, which an attempt in flight tries already.</summary>
    RedirectJoined,

    /// <summary>A stagger timer that is no longer pending.</summary>
    StaleStagger,

    /// <summary>An answer of an attempt that is no longer in flight.</summary>
    StaleAnswer,

    /// <summary>
    /// <see cref="MachineText.Pbx"/>, not the user's PBX (<see cref="MachineText.Other"/>, null when not known), rejected the
    /// login: <see cref="MachineText.Detail"/>, error <see cref="MachineText.Number"/>; the round goes on (R9).
    /// </summary>
    LoginRejectedElsewhere,

    /// <summary>
    /// <see cref="MachineText.Pbx"/>, taken for the user's PBX, sent StandbyBack: it kept the user as standby. The user's PBX
    /// is <see cref="MachineText.Other"/> again (null: not known until the next login) (R4).
    /// </summary>
    StandbyCorrected,
}

internal enum MachineTextWrap : byte
{
    None,

    /// <summary>The reason of a backoff after a round in which no PBX was reachable.</summary>
    NoPbxReachable,

    /// <summary>The note of a round in which no PBX was reachable.</summary>
    RoundFailed,

    /// <summary>The reason of a backoff after an unstable connection was lost.</summary>
    Unstable,

    /// <summary>The fault after the last of <see cref="RedundancyMachine.MaxRejectionsElsewhere"/> rejections in a row by PBXes other than the user's.</summary>
    RejectedRepeatedly,
}
