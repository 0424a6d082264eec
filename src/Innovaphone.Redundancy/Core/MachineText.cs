namespace Innovaphone.Redundancy.Core;

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
