using System.Collections.Immutable;

namespace Innovaphone.Redundancy.Core;

/// <summary>
/// What the machine says, one record per fact: the reason for its phase (<see cref="MachineState.Reason"/>), a fact for
/// the log (a <see cref="Note"/>), or both. The machine only records the fact; the shell words it:
/// Shell/MachineTextFormat gives the wording of a reason (<see cref="RedundancyStateChange.Reason"/>), and Manager/NoteLog
/// logs each note as its own event with its PBXes and codes as fields (docs/logging.md).
/// </summary>
internal abstract record MachineText
{
    private protected MachineText()
    {
    }

    /// <summary>The initial reason.</summary>
    public sealed record NotStarted : MachineText;

    /// <summary>Reason: the host started the manager; the first round starts at the primary.</summary>
    public sealed record Started : MachineText;

    /// <summary>Reason: the host stopped the manager.</summary>
    public sealed record StoppedByHost : MachineText;

    /// <summary>Reason: the backoff is over; the round starts at <paramref name="CurrentFirst"/>, or at the primary when null.</summary>
    public sealed record BackoffOver(PbxAddress? CurrentFirst) : MachineText;

    /// <summary>Note and reason: the attempt to <paramref name="Pbx"/> failed with <paramref name="Outcome"/>.</summary>
    public sealed record AttemptFailure(PbxAddress Pbx, AttemptFailed Outcome) : MachineText;

    /// <summary>
    /// Note and the reason of the fault: <paramref name="Pbx"/> rejected the login (R9), as the user's PBX or, when
    /// <paramref name="Repeatedly"/>, as the last of <see cref="RedundancyMachine.MaxRejectionsElsewhere"/> rejections in a
    /// row by PBXes other than the user's.
    /// </summary>
    public sealed record LoginRejected(PbxAddress Pbx, Rejected Outcome, bool Repeatedly = false) : MachineText;

    /// <summary>
    /// Note and reason: <paramref name="Pbx"/>, not the user's PBX (<paramref name="Home"/>, null when not known), rejected
    /// the login; the round goes on (R9).
    /// </summary>
    public sealed record LoginRejectedElsewhere(PbxAddress Pbx, PbxAddress? Home, Rejected Outcome) : MachineText;

    /// <summary>Note and reason: logged in to the user's PBX <paramref name="Pbx"/>, after <paramref name="Redirects"/> redirects.</summary>
    public sealed record HomeLogin(PbxAddress Pbx, int Redirects) : MachineText;

    /// <summary>
    /// Note and reason: logged in to <paramref name="Pbx"/>, which acts as standby for the user's PBX
    /// <paramref name="Home"/> (null when not known); <paramref name="Evidence"/> says what decided it (R4).
    /// </summary>
    public sealed record StandbyLogin(PbxAddress Pbx, PbxAddress? Home, StandbyEvidence Evidence) : MachineText;

    /// <summary>Note: what a home login determined (R5).</summary>
    public sealed record Determined(PbxAddress Primary, PbxAddress? Secondary, PbxAddress Home) : MachineText;

    /// <summary>Note and reason: <paramref name="From"/> redirects to <paramref name="To"/>, and the attempt follows (R3).</summary>
    public sealed record RedirectFollowed(PbxAddress From, PbxAddress To) : MachineText;

    /// <summary>Note: <paramref name="From"/> redirects to <paramref name="To"/>, which an attempt in flight tries already.</summary>
    public sealed record RedirectJoined(PbxAddress From, PbxAddress To) : MachineText;

    /// <summary>Note and reason: the redirect from <paramref name="From"/> to <paramref name="To"/> is refused (R3); the attempt counts as failed.</summary>
    public abstract record RedirectRefused(PbxAddress From, PbxAddress To) : MachineText;

    /// <summary>The redirect would change the scheme from <paramref name="Scheme"/> to <paramref name="Asked"/>.</summary>
    public sealed record RedirectSchemeRefused(PbxAddress From, PbxAddress To, PbxScheme Scheme, PbxScheme Asked) : RedirectRefused(From, To);

    /// <summary>The redirect closes a loop over <paramref name="Hops"/>, the PBXes the attempt visited.</summary>
    public sealed record RedirectLoopRefused(PbxAddress From, PbxAddress To, ImmutableArray<PbxAddress> Hops) : RedirectRefused(From, To);

    /// <summary>The redirect exceeds the hop limit <paramref name="Limit"/>.</summary>
    public sealed record RedirectHopLimitRefused(PbxAddress From, PbxAddress To, int Limit) : RedirectRefused(From, To);

    /// <summary>Note and reason: <paramref name="Silent"/> has not answered within the stagger delay; <paramref name="Next"/> starts beside it (R7).</summary>
    public sealed record AttemptStaggered(PbxAddress Silent, PbxAddress Next) : MachineText;

    /// <summary>
    /// Note and the reason of the backoff: no PBX of the round was reachable (R6); the last attempt, to
    /// <paramref name="LastTried"/>, ended with <paramref name="Last"/>.
    /// </summary>
    public sealed record RoundFailed(PbxAddress LastTried, MachineText Last) : MachineText;

    /// <summary>
    /// Note and reason: the live connection to <paramref name="Pbx"/> ended with <paramref name="Loss"/> (lost, StandbyBack
    /// R8, logged out); as a reason with <paramref name="BackingOff"/>, the second unstable connection in a row backs off.
    /// </summary>
    public sealed record ConnectionEnded(PbxAddress Pbx, ConnectionLoss Loss, bool BackingOff = false) : MachineText;

    /// <summary>
    /// Note: <paramref name="Standby"/>, taken for the user's PBX, sent StandbyBack: it kept the user as standby. The user's
    /// PBX is <paramref name="Home"/> again (null: not known until the next login) (R4).
    /// </summary>
    public sealed record StandbyCorrected(PbxAddress Standby, PbxAddress? Home) : MachineText;

    /// <summary>Note: an event that changes nothing (<paramref name="AttemptId"/>: the attempt of a late result or answer).</summary>
    public sealed record Ignored(IgnoredEvent Event, long AttemptId = 0) : MachineText
    {
        /// <summary>Whether the event is a stale one (of an attempt, timer or connection that is gone) rather than a host's call at the wrong time.</summary>
        public bool Stale => Event is not (IgnoredEvent.StartWhileRunning or IgnoredEvent.StopWhileStopped);
    }
}

/// <summary>Events that change nothing: the <c>Kind</c> field of log events 107 and 256.</summary>
internal enum IgnoredEvent : byte
{
    StartWhileRunning,
    StopWhileStopped,

    /// <summary>A result of an attempt no longer in flight (cancelled, superseded, lost a race).</summary>
    LateAttemptResult,
    StaleConnectionLoss,
    StaleBackoffSchedule,
    StaleBackoffEnd,
    StaleStagger,

    /// <summary>An answer of an attempt that is no longer in flight.</summary>
    StaleAnswer,
}

/// <summary>What decided whether a login is a standby login (R4).</summary>
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
