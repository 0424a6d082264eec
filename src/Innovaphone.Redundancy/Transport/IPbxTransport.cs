namespace Innovaphone.Redundancy.Transport;

/// <summary>
/// Connects to one PBX and logs in: the only thing the connection manager asks of the network.
/// </summary>
/// <remarks>
/// <para>Implementations: the myApps WebSocket transport (real PBXes) and the simulated PBX system
/// in <c>Innovaphone.Redundancy.Testing</c>. The transport owns the credentials and the myApps session
/// (it logs in with the session when it has one, and with the user's password otherwise), so that a
/// redirect, a reconnect or a failover reuses the same session as myApps does.</para>
/// <para>Every call must end: with an outcome, or with <see cref="OperationCanceledException"/> when
/// the cancellation token fires. The manager bounds each call with its attempt timeout; a call that ignores the
/// cancellation and has not returned 2 s after that is abandoned as a timed-out attempt (event 310), and a connection it
/// returns later is disposed. An exception other than cancellation is treated as a failed attempt (protocol error).</para>
/// </remarks>
public interface IPbxTransport
{
    /// <summary>Connects to <paramref name="request"/>'s PBX and logs in there.</summary>
    /// <param name="request">Which PBX, over which scheme.</param>
    /// <param name="cancellationToken">Cancels the attempt (stop, timeout).</param>
    /// <returns>What the PBX answered; see <see cref="LoginOutcome"/>.</returns>
    ValueTask<LoginOutcome> ConnectAsync(PbxLoginRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Completes when every socket the transport is still closing in the background has closed. A transport returns
    /// an outcome (a Redirect, a rejection, a failure) without waiting for the close handshake of that socket, so that
    /// the next attempt starts at once; the manager awaits this in <c>StopAsync</c> and <c>DisposeAsync</c>, so that
    /// no socket outlives them. Each close must be bounded by the transport itself (its close timeout).
    /// </summary>
    /// <param name="cancellationToken">Stops waiting (the closes go on).</param>
    /// <returns>By default a completed task: a transport that closes before it returns an outcome has nothing to wait for.</returns>
    Task WaitForClosesAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Verifies at once every connection and login in progress of this transport, because the network changed (R14):
    /// each one that does not answer within a short deadline ends (a connection's <see cref="IPbxConnection.Lost"/>
    /// completes, a login fails); one that answers goes on, a sign-in or two-factor wait included. Must return at once.
    /// The manager calls it on every <see cref="RedundancyOptions.NetworkChanges"/> notification.
    /// </summary>
    /// <remarks>By default does nothing: the transport relies on its own keepalive.</remarks>
    void VerifyConnections()
    {
    }
}

/// <summary>How far a login attempt has come, as the transport reports it through <see cref="PbxLoginRequest.Progress"/>.</summary>
public enum PbxLoginProgress
{
    /// <summary>
    /// The PBX has answered (for myApps: the Authenticate to the first Login arrived). A PBX that answers is alive:
    /// the manager no longer starts the next candidate of a round beside it (staggered attempts race silent PBXes only).
    /// </summary>
    Answered = 1,

    /// <summary>The PBX asks for a two-factor confirmation (myApps Authorize): the user is busy with this attempt.</summary>
    AwaitingAuthorization = 2,

    /// <summary>
    /// The PBX asks the user to sign in at the identity provider (myApps OAuth2: an Authenticate with a <c>url</c>): the
    /// user is busy with this attempt. Like <see cref="AwaitingAuthorization"/>, the manager's attempt timeout no longer
    /// applies (the transport bounds the wait) and no other PBX starts a login beside it.
    /// </summary>
    AwaitingSignIn = 3,
}

/// <summary>The WebSocket scheme of a connection. A redirect may never change it.</summary>
public enum PbxScheme
{
    /// <summary>TLS (<c>wss://</c>), the default.</summary>
    Wss = 0,

    /// <summary>Plain text (<c>ws://</c>); only when the host opts in (loopback tests, emulators).</summary>
    Ws = 1,
}

/// <summary>One login attempt at one PBX.</summary>
/// <param name="Pbx">The PBX to connect to.</param>
/// <param name="Scheme">The scheme to connect with.</param>
/// <param name="AttemptId">The manager's id of this attempt (for logs and traces).</param>
public sealed record PbxLoginRequest(PbxAddress Pbx, PbxScheme Scheme, long AttemptId)
{
    /// <summary>
    /// Where the transport reports how far the attempt has come (<see cref="PbxLoginProgress"/>); called on the
    /// transport's thread, must return at once, may be called more than once. A transport that reports nothing still
    /// works: its attempts count as silent until they end. Default: <see langword="null"/> (nobody listens).
    /// </summary>
    public IProgress<PbxLoginProgress>? Progress { get; init; }
}

/// <summary>What a PBX answered to a login attempt.</summary>
public abstract record LoginOutcome
{
    private protected LoginOutcome()
    {
    }
}

/// <summary>Logged in: the connection is up.</summary>
/// <param name="Connection">The live connection; the manager owns and disposes it.</param>
/// <param name="Info">What the PBX told about itself and the installation.</param>
public sealed record LoggedIn(IPbxConnection Connection, PbxLoginInfo Info) : LoginOutcome;

/// <summary>The PBX accepted the credentials but the user lives elsewhere: log in again at <paramref name="Target"/>.</summary>
/// <param name="Target">The PBX to follow to.</param>
/// <param name="Scheme">The scheme the redirect offers for the target.</param>
public sealed record Redirected(PbxAddress Target, PbxScheme Scheme) : LoginOutcome;

/// <summary>
/// The PBX rejected the login (for example a wrong password). A rejection by the user's PBX faults the manager; one by
/// another PBX ends that attempt, and the third such rejection in a row faults (R9, docs/concepts.md).
/// </summary>
/// <param name="Code">The PBX's error code.</param>
/// <param name="Text">The PBX's error text (never contains credentials).</param>
public sealed record Rejected(int Code, string Text) : LoginOutcome;

/// <summary>The attempt failed: the PBX is unreachable, too slow, or answered something unusable.</summary>
/// <param name="Kind">Why, in one word.</param>
/// <param name="Reason">A human-readable reason for logs (never contains credentials).</param>
public sealed record AttemptFailed(AttemptFailureKind Kind, string Reason) : LoginOutcome;

/// <summary>Why an attempt failed.</summary>
public enum AttemptFailureKind
{
    /// <summary>No connection could be made (refused, reset, DNS, PBX down).</summary>
    Unreachable,

    /// <summary>The attempt did not finish within the attempt timeout.</summary>
    Timeout,

    /// <summary>The PBX answered something that is not valid myApps protocol.</summary>
    ProtocolError,

    /// <summary>A LoginResult or Redirect carried a digest that does not verify: not from a PBX that knows the secret.</summary>
    ForgedDigest,

    /// <summary>A redirect was refused (hop limit, loop, scheme change).</summary>
    RedirectRefused,

    /// <summary>
    /// The PBX answered the first, credential-less Login with an error: it takes no logins now. Not a verdict on the
    /// credentials, so not a <see cref="Rejected"/> outcome: the round goes on with the next PBX.
    /// </summary>
    Refused,
}

/// <summary>Topology facts a PBX gives on a successful login.</summary>
/// <param name="Standby">
/// <see langword="true"/>/<see langword="false"/> when the PBX says whether it acts as standby;
/// <see langword="null"/> when it does not say (the manager then infers it, see docs/protocol.md).
/// </param>
/// <param name="Alternative">The explicit standby PBX of the PBX that answered (<c>info.alt</c>), if any.</param>
/// <param name="Master">The master of the PBX that answered (<c>info.master</c>), present on a slave.</param>
public sealed record PbxLoginInfo(bool? Standby = null, PbxAddress? Alternative = null, PbxAddress? Master = null)
{
    /// <summary>A login that told nothing about the topology.</summary>
    public static PbxLoginInfo None { get; } = new();
}

/// <summary>A live, logged-in connection to one PBX.</summary>
/// <remarks>Disposing closes the connection; it must not throw and must finish promptly.</remarks>
public interface IPbxConnection : IAsyncDisposable
{
    /// <summary>The PBX this connection is logged in to.</summary>
    PbxAddress Pbx { get; }

    /// <summary>Completes once when the connection ends, with why. Never faults.</summary>
    Task<ConnectionLoss> Lost { get; }
}

/// <summary>Why a live connection ended.</summary>
/// <param name="Kind">The kind of loss.</param>
/// <param name="Reason">A human-readable reason for logs.</param>
public sealed record ConnectionLoss(ConnectionLossKind Kind, string Reason);

/// <summary>The kinds of connection loss that matter for redundancy.</summary>
public enum ConnectionLossKind
{
    /// <summary>The socket closed or failed, or the keepalive found the peer dead.</summary>
    Closed,

    /// <summary>The standby PBX said the user's PBX is back (StandbyBack) and closed.</summary>
    StandbyBack,

    /// <summary>The session ended (LogoutResult): no reconnect with that session.</summary>
    LoggedOut,

    /// <summary>This side closed the connection (stop, dispose).</summary>
    ClosedByClient,
}
