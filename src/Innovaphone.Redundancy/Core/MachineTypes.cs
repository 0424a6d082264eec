using System.Collections.Immutable;
using Innovaphone.Redundancy.Persistence;
using Innovaphone.Redundancy.Transport;

namespace Innovaphone.Redundancy.Core;

/// <summary>The fixed inputs of the machine: what the host configured.</summary>
internal sealed record MachineConfig(PbxAddress Primary, PbxScheme Scheme, int MaxRedirectHops, string? Phys);

/// <summary>
/// The whole state of the redundancy machine. Immutable; <see cref="RedundancyMachine.Decide"/> returns a new one.
/// Ids for attempts and timers come from one sequence (<see cref="NextId"/>), so that a late event of an
/// abandoned attempt or timer can never be mistaken for the current one.
/// </summary>
internal sealed record MachineState
{
    public static MachineState Initial { get; } = new();

    public RedundancyState Phase { get; init; } = RedundancyState.Idle;

    /// <summary>Why the machine is in <see cref="Phase"/>.</summary>
    public string Reason { get; init; } = "not started";

    public PbxAddress? Secondary { get; init; }

    /// <summary>The user's PBX as found at the last non-standby login (for standby inference, R4).</summary>
    public PbxAddress? Home { get; init; }

    /// <summary>The PBX of the live connection; while down, the PBX last connected to (connInfo <c>cur</c>).</summary>
    public PbxAddress? Current { get; init; }

    public long NextId { get; init; } = 1;

    /// <summary>The id of the transport call in flight, if any (I2: at most one).</summary>
    public long? AttemptId { get; init; }

    public PbxAddress? AttemptTarget { get; init; }

    public PbxScheme AttemptScheme { get; init; }

    /// <summary>The PBXes visited in the attempt in flight: its first target, then each redirect target.</summary>
    public ImmutableArray<PbxAddress> Hops { get; init; } = [];

    /// <summary>The PBXes still to try in this round, in order.</summary>
    public ImmutableArray<PbxAddress> Pending { get; init; } = [];

    /// <summary>Attempts started since the last successful login.</summary>
    public int AttemptNumber { get; init; }

    /// <summary>The attempt id whose connection is live, if any.</summary>
    public long? ConnectionId { get; init; }

    /// <summary>The backoff timer pending in <see cref="RedundancyState.Failover"/>, if any.</summary>
    public long? TimerId { get; init; }

    /// <summary>Whether the round after the pending backoff starts at the current PBX (R7 after an unstable connection).</summary>
    public bool CurrentFirst { get; init; }

    /// <summary>When the pending backoff ends, once the shell has scheduled it.</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }

    public bool IsUp => Phase is RedundancyState.Connected or RedundancyState.Standby;

    public ConnInfo ToConnInfo(MachineConfig config) =>
        new(IsUp, Phase == RedundancyState.Standby, Current, config.Primary, Secondary, config.Phys);

    /// <summary>The PBX a state change is about.</summary>
    public PbxAddress? Target => AttemptTarget ?? Current;
}

/// <summary>Inputs of the machine. Every input is one of these, fed one at a time by the shell.</summary>
internal abstract record MachineEvent;

/// <summary>The host started the manager; <paramref name="Stored"/> is what the store kept, if anything.</summary>
internal sealed record StartRequested(RedundancyRecord? Stored) : MachineEvent;

internal sealed record StopRequested : MachineEvent;

/// <summary>The transport call <paramref name="AttemptId"/> ended with <paramref name="Outcome"/>.</summary>
internal sealed record AttemptCompleted(long AttemptId, LoginOutcome Outcome) : MachineEvent;

/// <summary>
/// The live connection of attempt <paramref name="ConnectionId"/> ended; <paramref name="Unstable"/> when it ended
/// sooner after its login than the host's <c>MinStableConnection</c>.
/// </summary>
internal sealed record ConnectionLost(long ConnectionId, ConnectionLoss Loss, bool Unstable = false) : MachineEvent;

/// <summary>The shell scheduled backoff timer <paramref name="TimerId"/> to end at <paramref name="DueAt"/>, <paramref name="Delay"/> from now.</summary>
internal sealed record BackoffScheduled(long TimerId, DateTimeOffset DueAt, TimeSpan Delay) : MachineEvent;

internal sealed record BackoffElapsed(long TimerId) : MachineEvent;

/// <summary>Outputs of the machine: things for the shell to do, and facts for it to log.</summary>
internal abstract record MachineCommand;

internal sealed record ConnectCommand(long AttemptId, PbxAddress Target, PbxScheme Scheme, int AttemptNumber, int Hop) : MachineCommand;

internal sealed record CancelAttemptCommand(long AttemptId) : MachineCommand;

internal sealed record CloseConnectionCommand(long ConnectionId) : MachineCommand;

/// <summary>A round failed: wait a backoff (R6), then deliver <see cref="BackoffElapsed"/> for <paramref name="TimerId"/>.</summary>
internal sealed record StartBackoffCommand(long TimerId, int FailedRounds) : MachineCommand;

/// <summary>The failover episode is over (logged in, faulted or stopped): the next failure backs off from the start.</summary>
internal sealed record ResetBackoffCommand : MachineCommand;

internal sealed record PersistCommand(RedundancyRecord Record) : MachineCommand;

/// <summary>A fact worth a log line; changes nothing.</summary>
internal sealed record NoteCommand(MachineNote Note, PbxAddress? Pbx, string Detail) : MachineCommand;

internal enum MachineNote
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
}

/// <summary>The machine's answer to one event.</summary>
internal readonly record struct Decision(MachineState State, ImmutableArray<MachineCommand> Commands);
