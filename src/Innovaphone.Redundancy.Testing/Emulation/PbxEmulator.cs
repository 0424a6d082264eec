using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;

namespace Innovaphone.Redundancy.Testing.Emulation;

/// <summary>
/// Serves a <see cref="SimulatedPbxSystem"/> over real WebSockets on loopback: one Kestrel listener per PBX on
/// 127.0.0.1 with a port the OS picks, the myApps endpoint <c>/{module}/APPCLIENT/{build}/websocket</c> (any build)
/// and <c>/{module}/WEBSOCKET/websocket</c>, and the PBX side of the myApps login (LoginInfo, Authenticate, digest
/// check, OAuth2 sign-in at an emulated identity provider, LoginResult with user, session and topology, Redirect,
/// errors, StandbyBack, LogoutResult).
/// </summary>
/// <remarks>
/// <para>The emulator is a shell around the simulated system: which PBX logs in, redirects or keeps a user as standby
/// is decided there, and its faults reach the sockets. <see cref="SimulatedPbxSystem.Kill"/> and
/// <see cref="SimulatedPbxSystem.PartitionClient"/> reset live sockets and refuse new ones;
/// <see cref="SimulatedPbxSystem.SetLoginDelay"/> and <see cref="SimulatedPbxSystem.SetHanging"/> delay the answer to
/// the digest Login; <see cref="SimulatedPbxSystem.Logout"/> sends LogoutResult and a standby PBX sends StandbyBack,
/// each followed by a close. On top of these the emulator injects socket and protocol faults:
/// <see cref="CloseConnectionsAsync"/>, <see cref="SetHalfOpen"/>, <see cref="SetBlackHole"/>, <see cref="SetLinger"/>,
/// <see cref="SetFault"/>, <see cref="ForceRedirect"/> and two-factor login (<see cref="RequireTwoFactor"/>). Login
/// methods are per PBX (<see cref="SimulatedPbxSystem.SetLoginMethods"/>); who signs in at the emulated identity provider
/// of OAuth2 logins is <see cref="SignInAs"/>.</para>
/// <para>The simulator's attempt record is kept as for the in-memory transport, with two differences: a connection
/// refused before any Login (a killed or cut-off PBX) is recorded without a user name, and under
/// <see cref="SetFault"/> or <see cref="ForceRedirect"/> the record shows what the simulator decided, not what was sent.</para>
/// <para>Create the PBXes through the emulator (<see cref="AddMasterAsync"/>, <see cref="AddSlaveAsync"/>,
/// <see cref="AddStandbyAsync"/>) so that their addresses carry the bound ports; add users on <see cref="System"/>.
/// Use the system's default clock: real sockets run in real time.</para>
/// <para>All members are thread-safe. <see cref="DisposeAsync"/> stops every listener and aborts every socket.</para>
/// </remarks>
public sealed class PbxEmulator : IAsyncDisposable
{
    private readonly bool _ownsSystem;
    private readonly object _gate = new();
    private readonly Dictionary<SimulatedPbx, EmulatedPbxHost> _hosts = [];
    private readonly ConcurrentQueue<string> _secrets = new();
    private readonly ConcurrentDictionary<string, Action<string>> _signIns = new(StringComparer.Ordinal);
    private string? _signInUser;
    private bool _automaticSignIn;
    private bool _disposed;

    /// <summary>Creates an emulator with no PBX yet.</summary>
    /// <param name="system">
    /// The installation to serve; <see langword="null"/> (the default) creates one, which the emulator then disposes.
    /// A given system stays the caller's to dispose.
    /// </param>
    /// <param name="options">How to serve; <see langword="null"/> (the default) is plain <c>ws://</c> with default options.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public PbxEmulator(SimulatedPbxSystem? system = null, PbxEmulatorOptions? options = null)
    {
        Options = options ?? new PbxEmulatorOptions();
        Options.Validate();
        _ownsSystem = system is null;
        System = system ?? new SimulatedPbxSystem();
        Certificate = Options.UseTls ? SelfSignedCertificate.Create() : null;
    }

    /// <summary>The simulated installation behind the sockets: add users and inject its faults here.</summary>
    public SimulatedPbxSystem System { get; }

    /// <summary>The options the emulator was created with.</summary>
    public PbxEmulatorOptions Options { get; }

    /// <summary>The scheme served: <see cref="PbxScheme.Wss"/> with <see cref="PbxEmulatorOptions.UseTls"/>, else <see cref="PbxScheme.Ws"/>.</summary>
    public PbxScheme Scheme => Options.UseTls ? PbxScheme.Wss : PbxScheme.Ws;

    /// <summary>
    /// The self-signed certificate every TLS listener presents (for <c>localhost</c> and 127.0.0.1, valid for a day);
    /// <see langword="null"/> without TLS. No platform trusts it: trust it in a certificate validation callback, for
    /// example by comparing <see cref="X509Certificate.GetCertHashString()"/>.
    /// </summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>
    /// A snapshot of every secret this emulator has seen or made: the session ids and passwords its system issued
    /// (<see cref="SimulatedPbxSystem.IssuedSecrets"/>), every login response digest a client sent, every digest it
    /// signed a LoginResult or Redirect with, and every ECDHE shared secret of an OAuth2 login. Tests use it to check that
    /// logs, exception messages and files hold none of them.
    /// </summary>
    public IReadOnlyList<string> SecretsSeen => [.. System.IssuedSecrets, .. _secrets];

    /// <summary>Remembers a digest or shared secret seen on the wire or made, for <see cref="SecretsSeen"/>.</summary>
    internal void RecordSecret(string secret)
    {
        if (!string.IsNullOrEmpty(secret))
        {
            _secrets.Enqueue(secret);
        }
    }

    /// <summary>How many WebSockets are open on all PBXes; 0 once clients have closed and after disposal.</summary>
    public int OpenSocketCount
    {
        get
        {
            lock (_gate)
            {
                return _hosts.Values.Sum(h => h.OpenSocketCount);
            }
        }
    }

    /// <summary>Starts a listener and adds a master PBX served there (see <see cref="SimulatedPbxSystem.AddMaster"/>).</summary>
    /// <param name="module">The PBX module name (default <c>PBX0</c>).</param>
    /// <param name="cancellationToken">Cancels the start of the listener.</param>
    /// <returns>The PBX; its address is <c>127.0.0.1:&lt;port&gt;/&lt;module&gt;</c>.</returns>
    public Task<SimulatedPbx> AddMasterAsync(string module = PbxAddress.DefaultModule, CancellationToken cancellationToken = default) =>
        AddAsync(host => System.AddMaster(host, module), cancellationToken);

    /// <summary>Starts a listener and adds a slave PBX of <paramref name="master"/> served there (see <see cref="SimulatedPbxSystem.AddSlave"/>).</summary>
    /// <param name="master">The master it redirects to.</param>
    /// <param name="module">The PBX module name (default <c>PBX0</c>).</param>
    /// <param name="cancellationToken">Cancels the start of the listener.</param>
    public Task<SimulatedPbx> AddSlaveAsync(SimulatedPbx master, string module = PbxAddress.DefaultModule, CancellationToken cancellationToken = default) =>
        AddAsync(host => System.AddSlave(host, master, module), cancellationToken);

    /// <summary>
    /// Starts a listener and adds an explicit standby PBX for <paramref name="standsInFor"/> served there
    /// (see <see cref="SimulatedPbxSystem.AddStandby"/>).
    /// </summary>
    /// <param name="standsInFor">The PBX it stands in for.</param>
    /// <param name="module">The PBX module name (default <c>PBX0</c>).</param>
    /// <param name="cancellationToken">Cancels the start of the listener.</param>
    public Task<SimulatedPbx> AddStandbyAsync(SimulatedPbx standsInFor, string module = PbxAddress.DefaultModule, CancellationToken cancellationToken = default) =>
        AddAsync(host => System.AddStandby(host, standsInFor, module), cancellationToken);

    /// <summary>The WebSocket URL of <paramref name="pbx"/>, for clients other than the myApps transport.</summary>
    /// <param name="pbx">A PBX served by this emulator.</param>
    /// <param name="build">The firmware build number in the path (default 130000; any is accepted).</param>
    /// <exception cref="ArgumentException"><paramref name="pbx"/> is not served by this emulator.</exception>
    public Uri GetUri(SimulatedPbx pbx, int build = 130000)
    {
        var host = Host(pbx);
        var scheme = Scheme == PbxScheme.Wss ? "wss" : "ws";
        return new Uri(string.Create(CultureInfo.InvariantCulture, $"{scheme}://127.0.0.1:{host.Port}/{pbx.Address.Module}/APPCLIENT/{build}/websocket"));
    }

    /// <summary>
    /// Closes every socket of <paramref name="pbx"/> with a WebSocket close handshake (status 1001, going away), as a
    /// PBX that restarts in an orderly way does; their logins end. New connections are accepted as before.
    /// </summary>
    /// <returns>
    /// A task that completes when those sockets have ended their close handshakes (bounded by
    /// <see cref="PbxEmulatorOptions.CloseTimeout"/>); a linger set by <see cref="SetLinger"/> runs on after it.
    /// </returns>
    /// <exception cref="ArgumentException"><paramref name="pbx"/> is not served by this emulator.</exception>
    public Task CloseConnectionsAsync(SimulatedPbx pbx) => Host(pbx).CloseAllAsync();

    /// <summary>
    /// Freezes <paramref name="pbx"/> (<see langword="true"/>): its sockets stay open at the TCP level but it reads
    /// nothing (so it answers no PING and no frame) and sends nothing; new connections get no answer to the WebSocket
    /// upgrade. <see langword="false"/> (the default) thaws it: what was held back is read and answered.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="pbx"/> is not served by this emulator.</exception>
    public void SetHalfOpen(SimulatedPbx pbx, bool halfOpen) => Host(pbx).SetHalfOpen(halfOpen);

    /// <summary>
    /// Makes <paramref name="pbx"/> keep the TCP connection open for <paramref name="linger"/> after every WebSocket close
    /// handshake that completes from now on, as real servers do, instead of closing it at once; <see cref="TimeSpan.Zero"/>
    /// (the default) turns it off. It applies to closes the client starts (after a Redirect, a login error, its own
    /// logout or stop: the PBX answers the close frame, then lingers) and to those the PBX starts (StandbyBack,
    /// LogoutResult, <see cref="CloseConnectionsAsync"/>: the client's answer arrives, then the PBX lingers); not to
    /// aborted sockets (kill, partition, reset).
    /// </summary>
    /// <remarks>
    /// RFC 6455 lets the server close TCP first, and .NET's <see cref="System.Net.WebSockets.ClientWebSocket"/> waits up
    /// to 1 s for that after the close handshake before it aborts the connection itself: against a lingering PBX a
    /// client that awaits <c>CloseAsync</c> loses about 1 s per close. During the linger the PBX reads nothing; the
    /// socket still counts in <see cref="OpenSocketCount"/> even once the client has gone, until the linger ends or the
    /// emulator is disposed. <see cref="CloseConnectionsAsync"/> completes when the handshakes are done, not after the linger.
    /// </remarks>
    /// <param name="pbx">A PBX served by this emulator.</param>
    /// <param name="linger">How long to keep TCP open after the close handshake; zero or more.</param>
    /// <exception cref="ArgumentException"><paramref name="pbx"/> is not served by this emulator.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="linger"/> is negative.</exception>
    public void SetLinger(SimulatedPbx pbx, TimeSpan linger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(linger, TimeSpan.Zero);
        Host(pbx).Linger = linger;
    }

    /// <summary>
    /// Black-holes <paramref name="pbx"/> (<see langword="true"/>), as a PBX that lost power or a network that drops its
    /// packets: new TCP connects never complete (the SYN gets no answer; the client's connect runs into its own
    /// timeout), and live sockets go silent as under <see cref="SetHalfOpen"/> (they stay open but nothing is read,
    /// answered or sent). <see langword="false"/> (the default) ends it: live sockets answer what was held back, and a
    /// pending connect completes at the client's next SYN retransmission (the kernel retries after 1 s, 3 s, 7 s, ...).
    /// </summary>
    /// <remarks>
    /// <para>How: the emulator's listener stops accepting, lowers its listen backlog to 0 and fills the accept queue with a
    /// connection of its own; Linux then drops every further SYN to the port (a listen-queue overflow), so that no
    /// SYN-ACK is sent. No privileges or packet filters are needed. A connection the kernel had already completed and
    /// queued before the call counts as live: its connect has completed, but its upgrade is never answered.</para>
    /// <para>This relies on Linux's handling of a full accept queue. Other systems may answer such SYNs with a reset
    /// (a refused connect, as after <see cref="SimulatedPbxSystem.Kill"/>) instead.</para>
    /// </remarks>
    /// <param name="pbx">A PBX served by this emulator.</param>
    /// <param name="blackHole">Whether the PBX is black-holed.</param>
    /// <exception cref="ArgumentException"><paramref name="pbx"/> is not served by this emulator.</exception>
    public void SetBlackHole(SimulatedPbx pbx, bool blackHole) => Host(pbx).SetBlackHole(blackHole);

    /// <summary>Makes <paramref name="pbx"/> inject <paramref name="fault"/> into its login answers; <see cref="EmulatedFault.None"/> (the default) stops it.</summary>
    /// <param name="pbx">A PBX served by this emulator.</param>
    /// <param name="fault">The fault; see <see cref="EmulatedFault"/> for where each one strikes.</param>
    /// <param name="nextLoginOnly"><see langword="true"/>: only the next answer the fault applies to, then none; <see langword="false"/> (the default): until changed.</param>
    /// <exception cref="ArgumentException"><paramref name="pbx"/> is not served by this emulator, or <paramref name="fault"/> is not defined.</exception>
    public void SetFault(SimulatedPbx pbx, EmulatedFault fault, bool nextLoginOnly = false)
    {
        if (!Enum.IsDefined(fault))
        {
            throw new ArgumentException($"{fault} is not an emulated fault.", nameof(fault));
        }

        Host(pbx).SetFault(fault, nextLoginOnly);
    }

    /// <summary>
    /// Makes <paramref name="pbx"/> answer every login whose credentials it accepts with a correctly signed Redirect to
    /// <paramref name="target"/> instead of what the simulated system decided; <see langword="null"/> (the default) stops it.
    /// Two PBXes forced to each other make a redirect loop, a PBX forced to itself the shortest one. The simulated
    /// system still records the attempt as it decided it.
    /// </summary>
    /// <exception cref="ArgumentException">A PBX is not served by this emulator.</exception>
    public void ForceRedirect(SimulatedPbx pbx, SimulatedPbx? target)
    {
        if (target is not null)
        {
            Host(target);
        }

        Host(pbx).SetForcedRedirect(target);
    }

    /// <summary>
    /// Makes <paramref name="pbx"/> ask for two-factor authorization on user logins it accepts: it sends
    /// <c>{"mt":"Authorize","code":<paramref name="code"/>}</c> and answers only after <see cref="ConfirmTwoFactor"/>.
    /// <see langword="null"/> (the default) turns it off. Session logins are never asked.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="pbx"/> is not served by this emulator.</exception>
    public void RequireTwoFactor(SimulatedPbx pbx, int? code) => Host(pbx).SetTwoFactor(code);

    /// <summary>Confirms the two-factor code on another device, as it were: every login of <paramref name="pbx"/> waiting for it goes on.</summary>
    /// <exception cref="ArgumentException"><paramref name="pbx"/> is not served by this emulator.</exception>
    public void ConfirmTwoFactor(SimulatedPbx pbx) => Host(pbx).ConfirmTwoFactor();

    /// <summary>
    /// Says who signs in at the emulated identity provider, as the person at the browser: a PBX that accepts OAuth2
    /// (<see cref="SimulatedLoginMethods.OAuth2"/>) answers an OAuth2 Login with an Authenticate whose <c>url</c> is a
    /// sign-in page on the PBX's own listener (<c>http[s]://127.0.0.1:&lt;port&gt;/sso/&lt;token&gt;</c>). A GET of that page
    /// signs <paramref name="user"/> in (200, a short page saying so) and the PBX answers the Login as for that user:
    /// LoginResult with session, or a Redirect that carries one. Each page works once; an unknown or used one is 404.
    /// </summary>
    /// <param name="user">
    /// The user's SIP name; <see langword="null"/> (the default): nobody, a page then answers 403 and its sign-in waits
    /// (until the client gives up, or this is called). A user the system does not know gets a LoginResult error.
    /// </param>
    /// <param name="automatic">
    /// <see langword="true"/>: no page needs opening; every sign-in, pending or to come, completes at once, as a browser
    /// that is signed in already and follows the redirects by itself. Default: <see langword="false"/>.
    /// </param>
    /// <remarks>
    /// Two-factor (<see cref="RequireTwoFactor"/>) applies after the sign-in: Authorize, then the answer once
    /// confirmed. A sign-in nobody completes waits; the PBX resets it if it goes down meanwhile.
    /// </remarks>
    public void SignInAs(string? user, bool automatic = false)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _signInUser = user;
            _automaticSignIn = automatic && user is not null;
        }

        if (automatic && user is not null)
        {
            foreach (var token in _signIns.Keys)
            {
                SignIn(token, user);
            }
        }
    }

    /// <summary>Makes <paramref name="token"/> a sign-in page that calls <paramref name="signedIn"/> with the user once opened.</summary>
    internal void AddSignIn(string token, Action<string> signedIn) => _signIns[token] = signedIn;

    /// <summary>The page <paramref name="token"/> is no longer pending (answered otherwise, or its socket ended).</summary>
    internal void RemoveSignIn(string token) => _signIns.TryRemove(token, out _);

    /// <summary>Completes the sign-in <paramref name="token"/> at once when <see cref="SignInAs"/> made it automatic.</summary>
    internal void SignInIfAutomatic(string token)
    {
        string? user;
        lock (_gate)
        {
            user = _automaticSignIn ? _signInUser : null;
        }

        if (user is not null)
        {
            SignIn(token, user);
        }
    }

    /// <summary>A GET of the sign-in page <paramref name="token"/>: the HTTP status and the page's text.</summary>
    internal (int Status, string Text) OpenSignInPage(string token)
    {
        string? user;
        lock (_gate)
        {
            user = _signInUser;
        }

        if (!_signIns.ContainsKey(token))
        {
            return (404, "Unknown or used sign-in page.");
        }

        if (user is null)
        {
            return (403, "Nobody is signed in at the emulated identity provider (PbxEmulator.SignInAs).");
        }

        return SignIn(token, user)
            ? (200, $"Signed in as {user}. You can close this window.")
            : (404, "Unknown or used sign-in page.");
    }

    private bool SignIn(string token, string user)
    {
        if (!_signIns.TryRemove(token, out var signedIn))
        {
            return false;
        }

        signedIn(user);
        return true;
    }

    /// <summary>Stops every listener, aborts every socket and releases their logins; disposes the system if the emulator created it. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        EmulatedPbxHost[] hosts;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            hosts = [.. _hosts.Values];
        }

        await Task.WhenAll(hosts.Select(h => h.DisposeAsync().AsTask())).ConfigureAwait(false);
        Certificate?.Dispose();
        if (_ownsSystem)
        {
            System.Dispose();
        }
    }

    private async Task<SimulatedPbx> AddAsync(Func<string, SimulatedPbx> add, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
        }

        var host = new EmulatedPbxHost(this);
        try
        {
            var port = await host.StartAsync(cancellationToken).ConfigureAwait(false);
            var pbx = add(string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{port}"));
            host.Serve(pbx);
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                _hosts.Add(pbx, host);
            }

            return pbx;
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private EmulatedPbxHost Host(SimulatedPbx pbx)
    {
        ArgumentNullException.ThrowIfNull(pbx);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _hosts.TryGetValue(pbx, out var host)
                ? host
                : throw new ArgumentException($"{pbx} is not served by this emulator.", nameof(pbx));
        }
    }
}
