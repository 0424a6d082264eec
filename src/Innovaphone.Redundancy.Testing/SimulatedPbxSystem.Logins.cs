namespace Innovaphone.Redundancy.Testing;

/// <summary>The system, part two: how a PBX answers a login (the transports and the emulator ask here), and how connections end.</summary>
public sealed partial class SimulatedPbxSystem
{
    /// <summary>
    /// The connect phase of a login at <paramref name="address"/>: waits out the PBX's login delay, or hangs
    /// while it is hanging, until it may answer.
    /// </summary>
    /// <returns><see langword="null"/> when the PBX is ready to answer; otherwise why it is unreachable.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired before the PBX answered.</exception>
    internal async ValueTask<string?> AwaitAnswerAsync(PbxAddress address, string? user, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        TimeSpan delay;
        bool hanging;
        Task outage;
        lock (Gate)
        {
            var failure = Unreachability(address, out var pbx);
            if (failure is not null)
            {
                Record(address, user, SimulatedAttemptOutcome.Unreachable);
                return failure;
            }

            (delay, hanging, outage) = (pbx!.LoginDelay, pbx.Hanging, pbx.Outage.Task);
        }

        if (!hanging && delay == TimeSpan.Zero)
        {
            return null;
        }

        bool wentDown;
        using (var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            // A hanging PBX needs no timer; the linked source releases the wait once the outage wins.
#pragma warning disable RS0030 // Banned Task.Delay without a TimeProvider: an infinite wait ends only by cancellation, no clock is involved.
            var answer = hanging
                ? Task.Delay(Timeout.InfiniteTimeSpan, waiting.Token)
                : Task.Delay(delay, _time, waiting.Token);
#pragma warning restore RS0030
            wentDown = await Task.WhenAny(answer, outage).ConfigureAwait(false) == outage;
            await waiting.CancelAsync().ConfigureAwait(false);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            lock (Gate)
            {
                Record(address, user, SimulatedAttemptOutcome.Abandoned);
            }

            cancellationToken.ThrowIfCancellationRequested();
        }

        if (wentDown)
        {
            lock (Gate)
            {
                Record(address, user, SimulatedAttemptOutcome.Unreachable);
            }

            return $"{address} went down before it answered the login (connection reset)";
        }

        return null;
    }

    /// <summary>
    /// Decides what the PBX at <paramref name="address"/> answers to a login, now; a successful login is
    /// registered as a live connection at once, so that kills, StandbyBack and logouts reach it.
    /// </summary>
    /// <param name="address">The PBX the client logs in to.</param>
    /// <param name="scheme">The scheme of the client's connection; a redirect offers the same.</param>
    /// <param name="kind">Whether <paramref name="name"/> is a user name or a session id.</param>
    /// <param name="name">The user name or session id.</param>
    /// <param name="provesSecret">
    /// Whether the client proved it knows the given secret (the user's or the session's password): an equality
    /// check in memory, a digest check over a socket. Called under the system's lock; must be quick and pure.
    /// </param>
    /// <returns>The outcome, and the session issued when a user login succeeded.</returns>
    internal SimulatedLoginDecision DecideLogin(
        PbxAddress address, PbxScheme scheme, SimulatedCredentialKind kind, string name, Func<string, bool> provesSecret)
    {
        lock (Gate)
        {
            var failure = Unreachability(address, out var pbx);
            if (failure is not null)
            {
                Record(address, UserNameOf(kind, name), SimulatedAttemptOutcome.Unreachable);
                return new(new AttemptFailed(AttemptFailureKind.Unreachable, failure), null);
            }

            if (RefusesMethod(pbx!, kind))
            {
                Record(address, UserNameOf(kind, name), SimulatedAttemptOutcome.Rejected);
                return new(MethodDisabled(kind), null);
            }

            SimulatedUser? user;
            if (kind == SimulatedCredentialKind.Session)
            {
                if (!_sessions.TryGetValue(name, out var session) || session.ExpiredAt.Contains(pbx!))
                {
                    Record(address, null, SimulatedAttemptOutcome.SessionExpired);
                    return new(new Rejected(SessionExpiredError, "session expired"), null);
                }

                user = provesSecret(session.Password) ? session.User : null;
            }
            else
            {
                user = _users.TryGetValue(name, out var u) && provesSecret(u.Password) ? u : null;
            }

            if (user is null || pbx!.RejectsLogins)
            {
                Record(address, UserNameOf(kind, name), SimulatedAttemptOutcome.Rejected);
                return new(new Rejected(LoginFailedError, "login failed: unknown user or wrong password"), null);
            }

            var target = RedirectTarget(pbx!, user.Home);
            if (target is not null && HasRegistration(pbx!, target))
            {
                // After a sign-in the Redirect carries a session, so that the client need not sign in again at the target.
                Record(address, user.Name, SimulatedAttemptOutcome.Redirected);
                return new(new Redirected(target.Address, scheme), kind == SimulatedCredentialKind.SignIn ? IssueSession(user) : null, user);
            }

            var standby = target is not null;
            var connection = new SimulatedConnection(this, pbx!, user, standby);
            _live.Add(connection);
            Record(address, user.Name, standby ? SimulatedAttemptOutcome.LoggedInStandby : SimulatedAttemptOutcome.LoggedIn);
            var info = new PbxLoginInfo(_sendsStandbyFlag ? standby : null, pbx!.AlternativeUnsafe?.Address, pbx.Master?.Address);
            return new(new LoggedIn(connection, info), kind == SimulatedCredentialKind.Session ? null : IssueSession(user), user);
        }
    }

    /// <summary>
    /// The answer of a PBX that does not accept <paramref name="kind"/> (<see cref="SimulatedLoginMethods"/>), recorded as
    /// a rejected attempt; <see langword="null"/> when it does, or cannot be reached (the login itself finds that out).
    /// Asked before a PBX shows a sign-in page.
    /// </summary>
    internal Rejected? RefuseMethod(PbxAddress address, SimulatedCredentialKind kind)
    {
        lock (Gate)
        {
            if (Unreachability(address, out var pbx) is not null || !RefusesMethod(pbx!, kind))
            {
                return null;
            }

            Record(address, null, SimulatedAttemptOutcome.Rejected);
            return MethodDisabled(kind);
        }
    }

    private static bool RefusesMethod(SimulatedPbx pbx, SimulatedCredentialKind kind) => kind switch
    {
        SimulatedCredentialKind.User => !pbx.LoginMethodsUnsafe.UserDigest,
        SimulatedCredentialKind.SignIn => !pbx.LoginMethodsUnsafe.OAuth2,
        _ => false,
    };

    private static Rejected MethodDisabled(SimulatedCredentialKind kind) => new(
        LoginMethodDisabledError,
        kind == SimulatedCredentialKind.SignIn ? "login failed: OAuth2 is not enabled on this PBX" : "login failed: password logins are not enabled on this PBX");

    internal void CloseByClient(SimulatedConnection connection)
    {
        lock (Gate)
        {
            // Not registered any more: the system ended it and its own reason is on the way.
            if (!_live.Remove(connection))
            {
                return;
            }
        }

        connection.End(new ConnectionLoss(ConnectionLossKind.ClosedByClient, "closed by the client"));
    }

    internal void SetAlternative(SimulatedPbx pbx, SimulatedPbx alternative) => Change(pbx, alternative, (p, alt, _) =>
    {
        if (ReferenceEquals(p, alt))
        {
            throw new ArgumentException("A PBX cannot be its own alternative.", nameof(alternative));
        }

        p.AlternativeUnsafe = alt;
    });
}
