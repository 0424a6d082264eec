using System.Security.Cryptography;
using Innovaphone.Redundancy.Transport;

namespace Innovaphone.Redundancy.Testing;

/// <summary>
/// An in-memory innovaphone PBX installation (master, slaves, explicit standby PBXes, users, sessions)
/// that answers myApps logins as the redundancy concept describes, with faults to inject:
/// kill and revive, client and PBX-to-PBX partitions, slow and hanging PBXes, logout and session expiry.
/// </summary>
/// <remarks>
/// <para>Which PBX answers what: a PBX logs a user in when it is the user's PBX. Otherwise it would redirect
/// (a slave to its master, the master to the user's PBX, an explicit standby PBX to the PBX it stands in for);
/// it does so when it has a registration to that PBX (both alive, no partition between them), and otherwise
/// keeps the login as standby. Standby logins end with <see cref="ConnectionLossKind.StandbyBack"/> as soon
/// as the registration is back.</para>
/// <para>All members are thread-safe. Time (login delays, attempt records) comes from the
/// <see cref="System.TimeProvider"/> given to the constructor.</para>
/// </remarks>
public sealed class SimulatedPbxSystem : IDisposable
{
    /// <summary>
    /// The <c>LoginResult</c> error for an unknown user or a wrong password. <b>Assumption:</b> innovaphone
    /// publishes no table of login error codes; 1 stands for "login failed" here and is used for both cases,
    /// so that a PBX does not tell which user names exist.
    /// </summary>
    public const int LoginFailedError = 1;

    /// <summary>The <c>LoginResult</c> error for an unknown, expired or logged-out session: 5, as myApps PBXes send it.</summary>
    public const int SessionExpiredError = 5;

    private readonly TimeProvider _time;
    private readonly Dictionary<PbxAddress, SimulatedPbx> _pbxes = [];
    private readonly Dictionary<string, SimulatedUser> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SimulatedSession> _sessions = new(StringComparer.Ordinal);
    private readonly HashSet<SimulatedConnection> _live = [];
    private readonly List<SimulatedLoginAttempt> _attempts = [];
    private readonly List<string> _issuedSecrets = [];
    private bool _disposed;
    private bool _sendsStandbyFlag = true;

    /// <summary>Creates an empty installation.</summary>
    /// <param name="timeProvider">The clock for login delays and attempt records; <see langword="null"/> (default) is <see cref="TimeProvider.System"/>.</param>
    public SimulatedPbxSystem(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    /// <summary>The clock the system runs on.</summary>
    public TimeProvider TimeProvider => _time;

    /// <summary>A snapshot of every login attempt so far, oldest first.</summary>
    public IReadOnlyList<SimulatedLoginAttempt> Attempts
    {
        get
        {
            lock (Gate)
            {
                return [.. _attempts];
            }
        }
    }

    /// <summary>
    /// A snapshot of every session id and session password this system has issued so far. Tests use it to check that
    /// their logs, exception messages and files hold none of them (sessions are credentials).
    /// </summary>
    public IReadOnlyList<string> IssuedSecrets
    {
        get
        {
            lock (Gate)
            {
                return [.. _issuedSecrets];
            }
        }
    }

    /// <summary>How many logins are live (not yet lost or disposed); 0 after a clean shutdown.</summary>
    public int LiveConnectionCount
    {
        get
        {
            lock (Gate)
            {
                return _live.Count;
            }
        }
    }

    /// <summary>Guards all mutable state of the system and its PBXes.</summary>
    internal object Gate { get; } = new();

    /// <summary>Adds a master PBX.</summary>
    /// <param name="host">The host, optionally with a port: <c>master.example.com</c>, <c>127.0.0.2:8443</c>.</param>
    /// <param name="module">The PBX module name (default <c>PBX0</c>).</param>
    /// <exception cref="ArgumentException">The host or module is invalid, or a PBX with that address exists.</exception>
    public SimulatedPbx AddMaster(string host, string module = PbxAddress.DefaultModule) =>
        Add(host, module, SimulatedPbxRole.Master, master: null, standsInFor: null);

    /// <summary>Adds a slave PBX of <paramref name="master"/>.</summary>
    /// <param name="host">The host, optionally with a port.</param>
    /// <param name="module">The PBX module name (default <c>PBX0</c>).</param>
    /// <param name="master">The master it redirects to; must have the role <see cref="SimulatedPbxRole.Master"/>.</param>
    /// <exception cref="ArgumentException">As for <see cref="AddMaster"/>, or <paramref name="master"/> is no master of this system.</exception>
    public SimulatedPbx AddSlave(string host, SimulatedPbx master, string module = PbxAddress.DefaultModule)
    {
        ArgumentNullException.ThrowIfNull(master);
        if (master.Role != SimulatedPbxRole.Master)
        {
            throw new ArgumentException($"{master} is no master PBX.", nameof(master));
        }

        return Add(host, module, SimulatedPbxRole.Slave, master, standsInFor: null);
    }

    /// <summary>
    /// Adds an explicit standby PBX for <paramref name="standsInFor"/>, which from then on reports it as its
    /// alternative (<c>info.alt</c>).
    /// </summary>
    /// <param name="host">The host, optionally with a port.</param>
    /// <param name="module">The PBX module name (default <c>PBX0</c>).</param>
    /// <param name="standsInFor">The PBX it redirects to and stands in for when that PBX is unreachable.</param>
    /// <exception cref="ArgumentException">As for <see cref="AddMaster"/>, or <paramref name="standsInFor"/> is not of this system.</exception>
    public SimulatedPbx AddStandby(string host, SimulatedPbx standsInFor, string module = PbxAddress.DefaultModule)
    {
        ArgumentNullException.ThrowIfNull(standsInFor);
        var standby = Add(host, module, SimulatedPbxRole.Standby, master: null, standsInFor);
        SetAlternative(standsInFor, standby);
        return standby;
    }

    /// <summary>Adds a user configured on <paramref name="home"/>.</summary>
    /// <param name="name">The user's SIP name (compared ordinally).</param>
    /// <param name="password">The user's password.</param>
    /// <param name="home">The user's PBX.</param>
    /// <exception cref="ArgumentException">A user of that name exists, or <paramref name="home"/> is not of this system.</exception>
    public void AddUser(string name, string password, SimulatedPbx home)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(password);
        CheckMember(home, nameof(home));
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_users.TryAdd(name, new SimulatedUser(name, password, home)))
            {
                throw new ArgumentException($"User '{name}' exists already.", nameof(name));
            }
        }
    }

    /// <summary>
    /// Moves <paramref name="user"/> to another PBX, as an administrator does: from now on logins are redirected there,
    /// and the old PBX redirects the user too. Live connections stay up.
    /// </summary>
    /// <exception cref="ArgumentException">The user does not exist, or <paramref name="home"/> is not of this system.</exception>
    public void MoveUser(string user, SimulatedPbx home)
    {
        ArgumentNullException.ThrowIfNull(user);
        CheckMember(home, nameof(home));
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            GetUser(user).Home = home;
        }
    }

    /// <summary>
    /// Whether a successful login says whether the PBX acts as standby (<see cref="PbxLoginInfo.Standby"/>, the
    /// <c>standby</c> flag of the LoginResult info). Default: <see langword="true"/>. Real PBXes may leave the flag out
    /// (docs/protocol.md names it an assumption); <see langword="false"/> leaves it out of every login, so that the
    /// client's standby inference (R4) decides. The topology hints (<c>alt</c>, <c>master</c>) are sent either way.
    /// </summary>
    public bool SendsStandbyFlag
    {
        get
        {
            lock (Gate)
            {
                return _sendsStandbyFlag;
            }
        }

        set
        {
            lock (Gate)
            {
                _sendsStandbyFlag = value;
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="pbx"/> reject every login with <see cref="LoginFailedError"/>, whatever the credentials (or
    /// stop doing so), as a PBX does that does not know the user, for example a standby that has not yet received it.
    /// </summary>
    public void SetRejectingLogins(SimulatedPbx pbx, bool rejecting) => Change(pbx, null, (p, _, _) => p.RejectsLogins = rejecting);

    /// <summary>
    /// Creates an in-memory transport for <paramref name="user"/>: it logs in with the password first, then
    /// with the session the PBX issues, and falls back to the password when that session has expired.
    /// </summary>
    /// <param name="user">The user's name; an unknown name is allowed and gets <see cref="Rejected"/>.</param>
    /// <param name="password">The password to log in with; a wrong one gets <see cref="Rejected"/>.</param>
    public IPbxTransport CreateTransport(string user, string password)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(password);
        return new SimulatedPbxTransport(this, user, password, session: null);
    }

    /// <summary>
    /// Creates an in-memory transport that knows only a fresh session of <paramref name="user"/>, like a client
    /// restarted with stored session data: once that session has expired, logins are <see cref="Rejected"/>
    /// with <see cref="SessionExpiredError"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The user does not exist.</exception>
    public IPbxTransport CreateSessionTransport(string user)
    {
        ArgumentNullException.ThrowIfNull(user);
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return new SimulatedPbxTransport(this, user, password: null, IssueSession(GetUser(user)));
        }
    }

    /// <summary>
    /// Kills <paramref name="pbx"/>: its live connections end with <see cref="ConnectionLossKind.Closed"/>
    /// and it refuses logins (and registrations of other PBXes) until <see cref="Revive"/>.
    /// </summary>
    public void Kill(SimulatedPbx pbx) => Change(pbx, null, (p, _, s) =>
    {
        p.Alive = false;
        TakeDown(p, "PBX killed", s);
    });

    /// <summary>Brings a killed PBX back; standby logins waiting for it get StandbyBack.</summary>
    public void Revive(SimulatedPbx pbx) => Change(pbx, null, (p, _, _) => p.Alive = true);

    /// <summary>
    /// Cuts the client off from <paramref name="pbx"/>: its live connections end with
    /// <see cref="ConnectionLossKind.Closed"/> and logins there fail as unreachable until <see cref="HealClient"/>.
    /// The PBX itself keeps running and keeps its registrations.
    /// </summary>
    public void PartitionClient(SimulatedPbx pbx) => Change(pbx, null, (p, _, s) =>
    {
        p.ClientPartitioned = true;
        TakeDown(p, "network partition between client and PBX", s);
    });

    /// <summary>Lets the client reach <paramref name="pbx"/> again.</summary>
    public void HealClient(SimulatedPbx pbx) => Change(pbx, null, (p, _, _) => p.ClientPartitioned = false);

    /// <summary>
    /// Breaks the registration between two PBXes: neither redirects to the other, and logins that would have
    /// been redirected are kept as standby. Live connections stay up.
    /// </summary>
    public void Partition(SimulatedPbx first, SimulatedPbx second) => Change(first, second, (a, b, _) =>
    {
        a.PartitionedFrom.Add(b!);
        b!.PartitionedFrom.Add(a);
    });

    /// <summary>Restores the registration between two PBXes; standby logins waiting for it get StandbyBack.</summary>
    public void Heal(SimulatedPbx first, SimulatedPbx second) => Change(first, second, (a, b, _) =>
    {
        a.PartitionedFrom.Remove(b!);
        b!.PartitionedFrom.Remove(a);
    });

    /// <summary>
    /// Makes <paramref name="pbx"/> wait <paramref name="delay"/> (on the system's clock) before it answers a
    /// login; <see cref="TimeSpan.Zero"/> (the default) answers at once.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative.</exception>
    public void SetLoginDelay(SimulatedPbx pbx, TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        Change(pbx, null, (p, _, _) => p.LoginDelay = delay);
    }

    /// <summary>
    /// Makes <paramref name="pbx"/> accept connections but never answer a login (<see langword="true"/>), until
    /// the client cancels or the PBX goes down; <see langword="false"/> (the default) answers normally.
    /// </summary>
    public void SetHanging(SimulatedPbx pbx, bool hanging) => Change(pbx, null, (p, _, _) => p.Hanging = hanging);

    /// <summary>
    /// Ends <paramref name="user"/>'s sessions: live connections end with <see cref="ConnectionLossKind.LoggedOut"/>
    /// (the PBX sent LogoutResult) and session logins fail with <see cref="SessionExpiredError"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The user does not exist.</exception>
    public void Logout(string user)
    {
        ArgumentNullException.ThrowIfNull(user);
        var signals = new Signals();
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var u = GetUser(user);
            DropSessions(u);
            EndWhere(c => c.User == u, new ConnectionLoss(ConnectionLossKind.LoggedOut, "session logged out (LogoutResult)"), signals);
        }

        signals.Fire();
    }

    /// <summary>Lets <paramref name="user"/>'s sessions expire: the next session login fails with <see cref="SessionExpiredError"/>. Live connections stay up.</summary>
    /// <exception cref="ArgumentException">The user does not exist.</exception>
    public void ExpireSessions(string user)
    {
        ArgumentNullException.ThrowIfNull(user);
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            DropSessions(GetUser(user));
        }
    }

    /// <summary>Forgets the attempts recorded so far (for example after a warm-up).</summary>
    public void ClearAttempts()
    {
        lock (Gate)
        {
            _attempts.Clear();
        }
    }

    /// <summary>
    /// Shuts the installation down: live connections end with <see cref="ConnectionLossKind.Closed"/>,
    /// pending logins fail, and later logins fail as unreachable. Idempotent.
    /// </summary>
    public void Dispose()
    {
        var signals = new Signals();
        lock (Gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var pbx in _pbxes.Values)
            {
                TakeDown(pbx, "simulated PBX system disposed", signals);
            }
        }

        signals.Fire();
    }

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

            SimulatedUser? user;
            if (kind == SimulatedCredentialKind.Session)
            {
                if (!_sessions.TryGetValue(name, out var session))
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
                Record(address, user.Name, SimulatedAttemptOutcome.Redirected);
                return new(new Redirected(target.Address, scheme), null);
            }

            var standby = target is not null;
            var connection = new SimulatedConnection(this, pbx!, user, standby);
            _live.Add(connection);
            Record(address, user.Name, standby ? SimulatedAttemptOutcome.LoggedInStandby : SimulatedAttemptOutcome.LoggedIn);
            var info = new PbxLoginInfo(_sendsStandbyFlag ? standby : null, pbx!.AlternativeUnsafe?.Address, pbx.Master?.Address);
            return new(new LoggedIn(connection, info), kind == SimulatedCredentialKind.User ? IssueSession(user) : null);
        }
    }

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

    /// <summary>Where <paramref name="pbx"/> sends a user of <paramref name="home"/>; <see langword="null"/> when it is the user's PBX.</summary>
    private static SimulatedPbx? RedirectTarget(SimulatedPbx pbx, SimulatedPbx home) =>
        ReferenceEquals(pbx, home) ? null : pbx.Role switch
        {
            SimulatedPbxRole.Slave => pbx.Master,
            SimulatedPbxRole.Standby => pbx.StandsInFor,
            _ => home,
        };

    private static bool HasRegistration(SimulatedPbx pbx, SimulatedPbx target) =>
        pbx.Alive && target.Alive && !pbx.PartitionedFrom.Contains(target);

    private SimulatedPbx Add(string host, string module, SimulatedPbxRole role, SimulatedPbx? master, SimulatedPbx? standsInFor)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(module);
        if (!PbxAddress.TrySplitAuthority(host, out var bareHost, out var port, out var error))
        {
            throw new ArgumentException($"'{host}' is not a host[:port]: {error}.", nameof(host));
        }

        CheckMember(master, nameof(master));
        CheckMember(standsInFor, nameof(standsInFor));
        var address = new PbxAddress(bareHost, module, port);
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var pbx = new SimulatedPbx(this, address, role, master, standsInFor);
            if (!_pbxes.TryAdd(address, pbx))
            {
                throw new ArgumentException($"A PBX at {address} exists already.", nameof(host));
            }

            return pbx;
        }
    }

    /// <summary>Applies a fault or repair under the lock, re-evaluates StandbyBack, then completes outside the lock.</summary>
    private void Change(SimulatedPbx pbx, SimulatedPbx? other, Action<SimulatedPbx, SimulatedPbx?, Signals> change)
    {
        CheckMember(pbx, nameof(pbx));
        CheckMember(other, nameof(other));
        var signals = new Signals();
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            change(pbx, other, signals);
            var back = new ConnectionLoss(ConnectionLossKind.StandbyBack, "the user's PBX is back (StandbyBack)");
            EndWhere(c => c.IsStandby && RedirectTarget(c.Host, c.User.Home) is { } target && HasRegistration(c.Host, target), back, signals);
        }

        signals.Fire();
    }

    private void TakeDown(SimulatedPbx pbx, string reason, Signals signals)
    {
        EndWhere(c => c.Host == pbx, new ConnectionLoss(ConnectionLossKind.Closed, reason), signals);
        signals.Outages.Add(pbx.Outage);
        pbx.Outage = SimulatedPbx.NewOutage();
    }

    private void EndWhere(Func<SimulatedConnection, bool> match, ConnectionLoss loss, Signals signals)
    {
        foreach (var connection in _live.Where(match).ToList())
        {
            _live.Remove(connection);
            signals.Ends.Add((connection, loss));
        }
    }

    private string? Unreachability(PbxAddress address, out SimulatedPbx? pbx)
    {
        pbx = null;
        if (_disposed)
        {
            return "the simulated PBX system is disposed";
        }

        if (!_pbxes.TryGetValue(address, out pbx))
        {
            return $"no PBX answers at {address}";
        }

        return !pbx.Alive ? $"{address} is down (connection refused)"
            : pbx.ClientPartitioned ? $"{address} cannot be reached from the client (network partition)"
            : null;
    }

    private SimulatedSession IssueSession(SimulatedUser user)
    {
        var session = new SimulatedSession(
            Convert.ToHexString(RandomNumberGenerator.GetBytes(8)), Convert.ToHexString(RandomNumberGenerator.GetBytes(16)), user);
        _sessions.Add(session.Id, session);
        _issuedSecrets.Add(session.Id);
        _issuedSecrets.Add(session.Password);
        return session;
    }

    private void DropSessions(SimulatedUser user)
    {
        foreach (var id in _sessions.Where(pair => pair.Value.User == user).Select(pair => pair.Key).ToList())
        {
            _sessions.Remove(id);
        }
    }

    private string? UserNameOf(SimulatedCredentialKind kind, string name) =>
        kind == SimulatedCredentialKind.User ? name : _sessions.TryGetValue(name, out var session) ? session.User.Name : null;

    private SimulatedUser GetUser(string name) =>
        _users.TryGetValue(name, out var user) ? user : throw new ArgumentException($"There is no user '{name}'.", nameof(name));

    private void Record(PbxAddress address, string? user, SimulatedAttemptOutcome outcome) =>
        _attempts.Add(new SimulatedLoginAttempt(_time.GetUtcNow(), address, user, outcome));

    private void CheckMember(SimulatedPbx? pbx, string parameter)
    {
        if (pbx is not null && !pbx.BelongsTo(this))
        {
            throw new ArgumentException($"{pbx} belongs to another simulated PBX system.", parameter);
        }
    }

    /// <summary>Completions collected under the lock and run after it, so that no continuation runs inside it.</summary>
    private sealed class Signals
    {
        public List<(SimulatedConnection Connection, ConnectionLoss Loss)> Ends { get; } = [];

        public List<TaskCompletionSource> Outages { get; } = [];

        public void Fire()
        {
            foreach (var (connection, loss) in Ends)
            {
                connection.End(loss);
            }

            foreach (var outage in Outages)
            {
                outage.TrySetResult();
            }
        }
    }
}

/// <summary>What a login names: a user (with the user's password) or a session (with the session password).</summary>
internal enum SimulatedCredentialKind
{
    User,
    Session,
}

/// <summary>A user of the simulated installation. A class, not a record: identity matters and ToString must not show the password.</summary>
internal sealed class SimulatedUser(string name, string password, SimulatedPbx home)
{
    public string Name { get; } = name;

    public string Password { get; } = password;

    /// <summary>The user's PBX; changed under the system's lock (<see cref="SimulatedPbxSystem.MoveUser"/>).</summary>
    public SimulatedPbx Home { get; set; } = home;
}

/// <summary>A myApps session issued on a successful user login; valid on every PBX of the installation.</summary>
internal sealed class SimulatedSession(string id, string password, SimulatedUser user)
{
    public string Id { get; } = id;

    public string Password { get; } = password;

    public SimulatedUser User { get; } = user;
}

/// <summary>A PBX's answer to one login, and the session it issued if the login was a successful user login.</summary>
internal readonly record struct SimulatedLoginDecision(LoginOutcome Outcome, SimulatedSession? NewSession);
