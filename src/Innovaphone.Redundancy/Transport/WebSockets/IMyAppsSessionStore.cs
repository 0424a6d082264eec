namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>
/// Keeps a user's myApps session (<see cref="MyAppsSession"/>) across restarts, so that a restarted client logs in with
/// it (login type <c>session</c>) and the user need not sign in again. Opt-in, through
/// <c>MyAppsTransportOptions.SessionStore</c>: without a store the session lives as long as the transport.
/// </summary>
/// <remarks>
/// <para>The session is a secret like a password: whoever holds it logs in as the user. It is kept apart from the
/// <see cref="IRedundancyStore"/> record (primary, secondary, the user's PBX), which holds no secret.</para>
/// <para>The transport loads the session once before its first login (unless <see cref="MyAppsTransportOptions.InitialSession"/>
/// is set), saves every session a PBX issues, and clears it when a PBX says it has expired or the user logs out. It makes
/// one call at a time, in the background; the manager's <c>StopAsync</c> returns after the calls queued before it have ended.</para>
/// <para>Errors: what a store keeps but cannot use (unreadable, corrupt, another user's) is "no session":
/// <see cref="LoadAsync"/> returns <see langword="null"/> rather than throwing. Any method may throw when the medium fails
/// (a disk that cannot be written, a vault that cannot be reached); the transport logs that and carries on with the
/// session it holds in memory, so a failing store costs at most a sign-in after the next restart. Every method throws
/// <see cref="OperationCanceledException"/> when its token is cancelled.</para>
/// </remarks>
public interface IMyAppsSessionStore
{
    /// <summary>Loads the session kept for <paramref name="user"/>.</summary>
    /// <param name="user">The user's SIP name (<see cref="MyAppsTransportOptions.Username"/>).</param>
    /// <param name="cancellationToken">Cancels the load.</param>
    /// <returns>The session, or <see langword="null"/> when none is kept for <paramref name="user"/> or what is kept cannot
    /// be used. A session saved for another user is never returned: it would log in as that user.</returns>
    ValueTask<MyAppsSession?> LoadAsync(string user, CancellationToken cancellationToken);

    /// <summary>Keeps <paramref name="session"/> for <paramref name="user"/>, replacing what was kept.</summary>
    /// <param name="user">The user's SIP name (<see cref="MyAppsTransportOptions.Username"/>).</param>
    /// <param name="session">The session a PBX issued.</param>
    /// <param name="cancellationToken">Cancels the save; what was kept before stays.</param>
    ValueTask SaveAsync(string user, MyAppsSession session, CancellationToken cancellationToken);

    /// <summary>Forgets the session kept for <paramref name="user"/>; nothing happens when none is kept.</summary>
    /// <param name="user">The user's SIP name (<see cref="MyAppsTransportOptions.Username"/>).</param>
    /// <param name="cancellationToken">Cancels the clear.</param>
    ValueTask ClearAsync(string user, CancellationToken cancellationToken);
}
