namespace Innovaphone.Redundancy;

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
