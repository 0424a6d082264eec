using Innovaphone.Redundancy.Persistence;
using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy;

/// <summary>
/// Configures a <see cref="RedundancyManager"/>. A sealed record: derive variants with <c>with</c>.
/// Validated when the manager is created; an invalid value throws <see cref="ArgumentException"/> naming it.
/// </summary>
public sealed record RedundancyOptions
{
    /// <summary>
    /// The primary PBX (R1): the PBX configured in the client (launcher server setting, or the PBX of the
    /// browser URL). Required. The manager connects here first and never changes it by itself.
    /// </summary>
    public required PbxAddress Primary { get; init; }

    /// <summary>The transport that connects and logs in to one PBX. Required.</summary>
    public required IPbxTransport Transport { get; init; }

    /// <summary>
    /// The user the connection is for (SIP name); only used to key the record in <see cref="Store"/>,
    /// so that two users of one primary do not share a secondary. Default: <see langword="null"/> (one record per primary).
    /// </summary>
    public string? User { get; init; }

    /// <summary>The scheme of every connection; redirects may not change it (R3). Default: <see cref="PbxScheme.Wss"/>.</summary>
    public PbxScheme Scheme { get; init; } = PbxScheme.Wss;

    /// <summary>
    /// The physical location, published as connInfo <c>phys</c> only when set here (R10).
    /// Default: <see langword="null"/> (connInfo carries <c>"phys":null</c>).
    /// </summary>
    public string? Phys { get; init; }

    /// <summary>The longest one transport call (connect + login at one PBX) may take. Default: 10 s. Range: 10 ms to 10 min.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The backoff after the first failed round of attempts (R6). Default: 1 s. Range: 1 ms to 1 h.</summary>
    public TimeSpan BackoffInitial { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest backoff between two rounds (R6). Default: 30 s. At least <see cref="BackoffInitial"/>, at most 1 day.</summary>
    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether the backoff is randomised (Polly's decorrelated jitter), so that many clients that lost the same PBX
    /// do not come back in step. Default: <see langword="true"/>. Without jitter the backoff doubles from <see cref="BackoffInitial"/>.
    /// </summary>
    public bool BackoffJitter { get; init; } = true;

    /// <summary>
    /// Spreads the reconnect after a lost connection (R7, R8): the first attempt waits a random time in
    /// [0, <see cref="ReconnectJitter"/>), drawn from <see cref="Randomizer"/> on <see cref="TimeProvider"/>, so that the
    /// clients of a PBX that dies (or reports StandbyBack) do not all log in to the next PBX within the same moment: N such
    /// clients arrive at about N / <see cref="ReconnectJitter"/> logins per second at most. Managers of one process (one
    /// <see cref="TimeProvider"/>) that lose the same PBX within moments of each other share one window, opened by the
    /// first of those losses: a later one waits a random part of what is left of it (at least half the window), so the
    /// last of them reconnects within the window however long the process took to notice all the losses. The wait does
    /// not count against <see cref="AttemptTimeout"/>; stop and dispose cancel it. A connection lost right after its login
    /// (<see cref="MinStableConnection"/>) backs off instead and is not delayed again.
    /// Default: <see cref="TimeSpan.Zero"/> (reconnect at once, as myApps does; see docs/performance.md for when to set it). Range: 0 to 10 min.
    /// </summary>
    public TimeSpan ReconnectJitter { get; init; } = TimeSpan.Zero;

    /// <summary>The source of randomness for the jitter: returns values in [0, 1). Default: <see langword="null"/> (a shared random source). Tests pin it.</summary>
    public Func<double>? Randomizer { get; init; }

    /// <summary>
    /// A connection lost sooner than this after its login counts as an early loss. The first early loss reconnects at
    /// once like any other (R7); from the second in a row the reconnect (current PBX first) waits a backoff that keeps
    /// growing across such logins, so that a PBX that accepts logins and drops them at once cannot cause a reconnect
    /// storm. A StandbyBack always reconnects at once (R8). <see cref="TimeSpan.Zero"/> turns the guard off.
    /// Default: 2 s. Range: 0 to 10 min.
    /// </summary>
    public TimeSpan MinStableConnection { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Staggered attempts (R7, "Happy Eyeballs" for PBXes, after RFC 8305): while a PBX of the round has not answered, the
    /// next candidate starts beside it after this delay instead of waiting for the attempt's timeout; the first login
    /// wins and the others are cancelled. A PBX that has answered (myApps: Authenticate, or a two-factor prompt) keeps
    /// the floor. This value is the delay for a PBX the manager knows nothing of yet; once it has seen a PBX answer, the
    /// delay for that PBX is twice its smoothed answer time, kept within [100 ms, 2 s] (widened to include this value).
    /// <see cref="Timeout.InfiniteTimeSpan"/> turns staggering off: one attempt at a time, each up to its timeout.
    /// Default: 250 ms (RFC 8305's connection attempt delay). Range: 10 ms to 1 min, or infinite.
    /// </summary>
    public TimeSpan StaggerDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The most redirects one attempt follows (R3). Default: 5. Range: 0 to 32.</summary>
    public int MaxRedirectHops { get; init; } = 5;

    /// <summary>Where time comes from (timeouts, backoff, timestamps). Default: <see langword="null"/> (<see cref="TimeProvider.System"/>).</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>Where the connection flow is logged (R12). Default: <see langword="null"/> (no logging).</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// Where the manager's <see cref="System.Diagnostics.Metrics.Meter"/> comes from (see <see cref="RedundancyTelemetry"/>); a DI host passes
    /// its <c>IMeterFactory</c>. Default: <see langword="null"/> (the library's shared meter named <see cref="RedundancyTelemetry.Name"/>).
    /// </summary>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; init; }

    /// <summary>
    /// Where the manager hears of network changes (R14). On each, the transport verifies the live connection and a login
    /// in progress at once (<see cref="IPbxTransport.VerifyConnections"/>; the myApps transport sends a PING that must be
    /// answered within its <c>VerifyTimeout</c>), so that a path that died with the change is left in about a second and
    /// a half instead of at the keepalive; and in Failover, a change after which a network is available starts the next
    /// round at once, after a random wait in [0, <see cref="ReconnectJitter"/>). Default: <see langword="null"/> = the
    /// platform's (<c>System.Net.NetworkInformation.NetworkChange</c> address and availability changes, one notification
    /// per burst, after 250 ms without another). Tests inject their own; <c>Observable.Never</c> turns it off.
    /// </summary>
    public IObservable<NetworkChange>? NetworkChanges { get; init; }

    /// <summary>
    /// Whether the process's failover path is warmed once in the background after a manager's first login (Connected or
    /// Standby), so that the first failover of the process is not the slow one (its code compiled on the spot: 3-4 times
    /// the time of the same failover a second time). The warm-up touches neither the network nor a PBX: it compiles the
    /// library's methods without running them and runs the framework's WebSocket failure path on an in-memory stream. It
    /// runs once per process (whatever the number of managers), stops as soon as its manager leaves Connected and
    /// Standby, stops or is disposed, and costs about 0.4 s of one core once (0.13 s with a ReadyToRun build of the
    /// application). Default: <see langword="true"/>; <see langword="false"/> for a process that must
    /// not spend that (see docs/performance.md, "Cold first failover").
    /// </summary>
    public bool WarmUp { get; init; } = true;

    /// <summary>Where primary, secondary and the user's PBX are kept (R5). Default: <see langword="null"/> (a new <see cref="InMemoryRedundancyStore"/>).</summary>
    public IRedundancyStore? Store { get; init; }

    /// <summary>Throws when a value is out of range; called by the manager's constructor.</summary>
    /// <exception cref="ArgumentException">A value is missing or out of range; the message names it.</exception>
    public void Validate()
    {
        if (Primary is null)
        {
            throw new ArgumentException("RedundancyOptions.Primary is required.", nameof(Primary));
        }

        if (Transport is null)
        {
            throw new ArgumentException("RedundancyOptions.Transport is required.", nameof(Transport));
        }

        Check(AttemptTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10), nameof(AttemptTimeout));
        Check(BackoffInitial, TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1), nameof(BackoffInitial));
        Check(BackoffMax, BackoffInitial, TimeSpan.FromDays(1), nameof(BackoffMax));
        Check(MinStableConnection, TimeSpan.Zero, TimeSpan.FromMinutes(10), nameof(MinStableConnection));
        Check(ReconnectJitter, TimeSpan.Zero, TimeSpan.FromMinutes(10), nameof(ReconnectJitter));
        if (StaggerDelay != Timeout.InfiniteTimeSpan)
        {
            Check(StaggerDelay, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1), nameof(StaggerDelay));
        }

        if (MaxRedirectHops is < 0 or > 32)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRedirectHops), MaxRedirectHops, "RedundancyOptions.MaxRedirectHops must be between 0 and 32.");
        }

        if (!Enum.IsDefined(Scheme))
        {
            throw new ArgumentOutOfRangeException(nameof(Scheme), Scheme, "RedundancyOptions.Scheme is not a known scheme.");
        }
    }

    private static void Check(TimeSpan value, TimeSpan min, TimeSpan max, string name)
    {
        if (value < min || value > max)
        {
            throw new ArgumentOutOfRangeException(name, value, $"RedundancyOptions.{name} must be between {min} and {max}.");
        }
    }
}
