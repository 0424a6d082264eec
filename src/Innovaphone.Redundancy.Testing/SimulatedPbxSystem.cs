using System.Globalization;
using System.Security.Cryptography;
using System.Text;

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
public sealed partial class SimulatedPbxSystem : IDisposable
{
    /// <summary>
    /// The <c>LoginResult</c> error for an unknown user or a wrong password. <b>Assumption:</b> innovaphone
    /// publishes no table of login error codes; 1 stands for "login failed" here and is used for both cases,
    /// so that a PBX does not tell which user names exist.
    /// </summary>
    public const int LoginFailedError = 1;

    /// <summary>The <c>LoginResult</c> error for an unknown, expired or logged-out session: 5, as myApps PBXes send it.</summary>
    public const int SessionExpiredError = 5;

    /// <summary>
    /// The <c>LoginResult</c> error for a login by a method the PBX does not accept (<see cref="SimulatedLoginMethods"/>:
    /// a password at a PBX without user digest, OAuth2 at a PBX without it). <b>Assumption:</b> innovaphone documents no
    /// code for this; its public OAuth2 client's notes list 2 as "authentication failed", which is used here.
    /// </summary>
    public const int LoginMethodDisabledError = 2;

    /// <summary>The number the first user gets when <see cref="AddUser"/> is given none; later users count up from it.</summary>
    private const int FirstNumber = 100;

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
    /// <param name="name">The user's SIP name (compared ordinally); <c>info.user.sip</c> of the emulator's LoginResult.</param>
    /// <param name="password">
    /// The user's password. A user who only signs in at the identity provider needs none that anybody knows: give any,
    /// and turn user digest off at the PBXes (<see cref="SetLoginMethods"/>).
    /// </param>
    /// <param name="home">The user's PBX.</param>
    /// <param name="displayName">The display name (<c>info.user.dn</c>); <see langword="null"/> (the default) is <paramref name="name"/>.</param>
    /// <param name="number">The phone number (<c>info.user.num</c>); <see langword="null"/> (the default) is 100 for the first user, 101 for the second, and so on.</param>
    /// <param name="email">The e-mail address (<c>info.user.email</c>); <see langword="null"/> (the default) is <c>&lt;name&gt;@&lt;domain of the emulator&gt;</c>.</param>
    /// <exception cref="ArgumentException">A user of that name exists, or <paramref name="home"/> is not of this system.</exception>
    public void AddUser(string name, string password, SimulatedPbx home, string? displayName = null, string? number = null, string? email = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(password);
        CheckMember(home, nameof(home));
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);

            // A GUID of the name, so that a user has the same one in every run.
            var guid = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(name)).AsSpan(0, 16)).ToLowerInvariant();
            var details = new SimulatedUserDetails(
                displayName ?? name, number ?? (FirstNumber + _users.Count).ToString(CultureInfo.InvariantCulture), guid, email);
            if (!_users.TryAdd(name, new SimulatedUser(name, password, home, details)))
            {
                throw new ArgumentException($"User '{name}' exists already.", nameof(name));
            }
        }
    }

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
        return new SimulatedPbxTransport(this, user, password, session: null, signIn: null);
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
            return new SimulatedPbxTransport(this, user, password: null, IssueSession(GetUser(user)), signIn: null);
        }
    }

    /// <summary>
    /// Creates an in-memory transport for <paramref name="user"/> who signs in at the identity provider (OAuth2, single
    /// sign-on), not with a password: it logs in with its session when it has one; without one (at first, or once the
    /// session has expired) it reports <see cref="PbxLoginProgress.AwaitingSignIn"/> and calls <paramref name="signIn"/>,
    /// and when that completes the PBX logs the user in, or redirects with a session for the target.
    /// </summary>
    /// <param name="user">The user the identity provider vouches for; an unknown name gets <see cref="Rejected"/>.</param>
    /// <param name="signIn">
    /// Called with the PBX that asks, each time the user has to sign in (a test counts the calls); the login goes on when
    /// the returned task completes. It gets the attempt's cancellation token: the manager's stop ends the wait. An
    /// exception from it ends the attempt as the manager treats a transport's exceptions. Not called when the PBX does
    /// not accept OAuth2 (<see cref="SimulatedLoginMethods.OAuth2"/>): the login is then
    /// <see cref="Rejected"/> with <see cref="LoginMethodDisabledError"/>.
    /// </param>
    public IPbxTransport CreateSignInTransport(string user, Func<PbxAddress, CancellationToken, ValueTask> signIn)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(signIn);
        return new SimulatedPbxTransport(this, user, password: null, session: null, signIn);
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
