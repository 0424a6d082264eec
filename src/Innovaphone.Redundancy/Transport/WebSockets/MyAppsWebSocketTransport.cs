using System.Diagnostics;
using System.Net.WebSockets;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>
/// The real transport: connects to a PBX's myApps WebSocket (<c>wss://host[:port]/&lt;module&gt;/APPCLIENT/&lt;build&gt;/websocket</c>)
/// and logs in with the myApps login (PROTOCOL.md: digest with a password or a session, OAuth2 single sign-on), following
/// the rules the myApps client follows.
/// </summary>
/// <remarks>
/// <para>Owns the credentials and the myApps session: a successful user login (by password or sign-in) yields a
/// session, and every later login (after a redirect, reconnect, failover or restart) uses it, without asking the PBX for
/// its login methods first. A session that expired (error 5) is dropped and the user logged in again on the same
/// socket: with the password when one is configured, else by one new sign-in when
/// <see cref="MyAppsTransportOptions.AllowSingleSignOn"/> allows it; a LogoutResult drops the session too.</para>
/// <para>Every call is bounded: <see cref="MyAppsTransportOptions.ConnectTimeout"/> for the WebSocket handshake,
/// <see cref="MyAppsTransportOptions.LoginTimeout"/> for the login exchange, and once the PBX waits for the user (a
/// sign-in page, a two-factor Authorize) <see cref="MyAppsTransportOptions.SignInTimeout"/> from that moment; the
/// transport then reports <see cref="PbxLoginProgress.AwaitingSignIn"/> or <see cref="PbxLoginProgress.AwaitingAuthorization"/>.
/// The caller's cancellation ends the call at any time (<see cref="OperationCanceledException"/>).</para>
/// <para>No password, session credential, nonce, digest, key, shared secret, two-factor code or sign-in URL reaches a
/// log line or exception message.</para>
/// </remarks>
public sealed partial class MyAppsWebSocketTransport : IPbxTransport, IAsyncDisposable
{
    private readonly MyAppsTransportOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly RandomBytesFiller _random;
    private readonly Func<Uri, CancellationToken, ValueTask<WebSocket>> _connect;
    private readonly object _gate = new();
    private readonly Shared.BackgroundWork _closes = new();
    private HttpMessageInvoker? _invoker;
    private readonly Subject<MyAppsConnection> _connections = new();
    private MyAppsSession? _session;
    private MyAppsSession? _signInSession;
    private Task? _sessionLoaded;
    private PbxLoginRequest? _signingIn;
    private Task _sessionPersisted = Task.CompletedTask;
    private MyAppsUser? _user;
    private MyAppsConnection? _current;
    private bool _disposed;

    /// <summary>Creates the transport.</summary>
    /// <param name="options">Credentials and settings; validated here.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it (never its value).</exception>
    public MyAppsWebSocketTransport(MyAppsTransportOptions options)
        : this(options, connect: null)
    {
    }

    /// <summary>Test seam: replaces the WebSocket handshake.</summary>
    internal MyAppsWebSocketTransport(MyAppsTransportOptions options, Func<Uri, CancellationToken, ValueTask<WebSocket>>? connect)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _timeProvider = options.TimeProvider ?? TimeProvider.System;
        _logger = options.LoggerFactory?.CreateLogger<MyAppsWebSocketTransport>() ?? (ILogger)NullLogger.Instance;
        _random = options.RandomSource ?? RandomNumberGenerator.Fill;
        _session = options.InitialSession;
        _connect = connect ?? ConnectClientWebSocketAsync;
    }

    /// <summary>
    /// The current myApps session, or <see langword="null"/>. Persist it (securely) to resume after a restart through
    /// <see cref="MyAppsTransportOptions.InitialSession"/>. A secret.
    /// </summary>
    public MyAppsSession? Session
    {
        get
        {
            lock (_gate)
            {
                return _session;
            }
        }
    }

    /// <summary>
    /// Who the PBX says the user is (LoginResult <c>info.user</c> of the latest login that carried it), or
    /// <see langword="null"/> before. After a single sign-on this is where the user's name comes from. Personal data.
    /// </summary>
    public MyAppsUser? User
    {
        get
        {
            lock (_gate)
            {
                return _user;
            }
        }
    }

    /// <summary>The connection of the latest successful login, or <see langword="null"/> before the first one.</summary>
    public MyAppsConnection? CurrentConnection
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>
    /// Each new logged-in connection, as it is made (before <see cref="ConnectAsync"/> returns). Subscribe to its
    /// <see cref="MyAppsConnection.Messages"/> here to see every app message. Completes on dispose.
    /// </summary>
    public IObservable<MyAppsConnection> Connections => _connections.AsObservable();

    /// <summary>Forgets the session, so that the next login uses the user's password.</summary>
    public void ClearSession() => DropSession(expected: null, "cleared by the host");

    /// <inheritdoc/>
    public async ValueTask<LoginOutcome> ConnectAsync(PbxLoginRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        cancellationToken.ThrowIfCancellationRequested();

        if (request.Scheme == PbxScheme.Ws && !_options.AllowInsecure)
        {
            WebSocketLog.InsecureRefused(_logger, request.AttemptId, request.Pbx);
            return new AttemptFailed(AttemptFailureKind.ProtocolError, "ws:// (unencrypted) is refused: MyAppsTransportOptions.AllowInsecure is false");
        }

        var uri = BuildUri(request.Pbx, request.Scheme);
        WebSocketLog.Connecting(_logger, request.AttemptId, uri);
        WebSocket socket;
        using (var connectTimeout = new CancellationTokenSource(_options.ConnectTimeout, _timeProvider))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, connectTimeout.Token))
        {
            try
            {
                socket = await _connect(uri, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (OperationCanceledException) when (connectTimeout.IsCancellationRequested)
            {
                return ConnectFailed(request, AttemptFailureKind.Timeout, $"no WebSocket connection within {_options.ConnectTimeout}");
            }
            catch (Exception e) when (IsConnectFailure(e))
            {
                return ConnectFailed(request, AttemptFailureKind.Unreachable, DescribeConnectFailure(e), e);
            }
        }

        WebSocketLog.Connected(_logger, request.AttemptId, request.Pbx);
        if (_options.SessionStore is not null)
        {
            // Once per transport, and only until it is done: a login with a session never waits for the store again.
            Task loaded;
            lock (_gate)
            {
                loaded = _sessionLoaded ??= LoadSessionAsync(_options.SessionStore);
            }

            await loaded.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        using var activity = RedundancyTelemetry.Source.StartActivity(RedundancyTelemetry.LoginActivity, ActivityKind.Client);
        activity?.SetTag(RedundancyTelemetry.PbxTag, request.Pbx.ToString());
        var outcome = await LoginAsync(socket, request, cancellationToken).ConfigureAwait(false);
        RedundancyTelemetry.EndActivity(activity, outcome);
        return outcome;
    }

    /// <summary>
    /// Runs the login on an open socket and turns the result into an outcome. On success the socket belongs to the
    /// returned connection; otherwise it is closed here. Internal for tests over any <see cref="WebSocket"/>.
    /// </summary>
    internal async ValueTask<LoginOutcome> LoginAsync(WebSocket socket, PbxLoginRequest request, CancellationToken cancellationToken)
    {
        MyAppsSession? session;
        bool allowSignIn;
        lock (_gate)
        {
            session = _session;

            // At most one sign-in per attempt: a session that a sign-in just gave (on a Redirect) and that expires at the
            // target before any login with it ends in Rejected, not in a second sign-in.
            allowSignIn = _options.AllowSingleSignOn && (session is null || !ReferenceEquals(session, _signInSession));
        }

        using var driver = new LoginDriver(request.Pbx, request.Scheme, _options.Username, _options.Password, session, _options.UserAgent, _random, allowSignIn);
        using var loginTimeout = new CancellationTokenSource(_options.LoginTimeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, loginTimeout.Token);
        var keepSocket = false;
        var graceful = false;
        var waitingForUser = false;
        var signingIn = false;
        var answered = false;
        Task<ReceivedFrame>? receiving = null;
        try
        {
            var step = driver.Start();
            while (true)
            {
                foreach (var frame in step.Send)
                {
                    await FrameIo.SendTextAsync(socket, frame, linked.Token).ConfigureAwait(false);
                }

                if (step.Send.Count > 0 && step.Outcome is null && !step.AwaitsLoginInfo)
                {
                    WebSocketLog.LoginSent(_logger, request.AttemptId, driver.UsesSession ? "session" : "user", request.Pbx);
                }

                foreach (var note in step.Notes)
                {
                    WebSocketLog.LoginNote(_logger, request.AttemptId, request.Pbx, note);
                }

                if (step.SessionDropped)
                {
                    WebSocketLog.SessionExpired(_logger, request.AttemptId, request.Pbx);
                    DropSession(session, "session expired (error 5)");
                }

                if (step.LearnedSession is { } learned)
                {
                    lock (_gate)
                    {
                        // A session from a sign-in that ends in a Redirect is used first at the target: until a login
                        // with it succeeds (Publish), its expiry there must not start a second sign-in.
                        _session = learned;
                        _signInSession = signingIn && step.LoggedIn is null ? learned : null;
                        PersistSession(store => store.SaveAsync(_options.Username, learned, CancellationToken.None));
                    }

                    WebSocketLog.SessionLearned(_logger, request.AttemptId, request.Pbx);
                }

                if (step.User is { } user)
                {
                    lock (_gate)
                    {
                        _user = user;
                    }
                }

                if (step.SignIn is { } signIn)
                {
                    // One sign-in at a time (R13): staggered attempts may bring two PBXes this far before either answered;
                    // the second is no case for a second browser window. It ends, and the round goes on without it.
                    if (Interlocked.CompareExchange(ref _signingIn, request, null) is not null)
                    {
                        graceful = true;
                        var busy = new AttemptFailed(AttemptFailureKind.Refused, "a sign-in at another PBX is in progress; not starting a second one");
                        LogOutcome(request, busy);
                        return busy;
                    }

                    signingIn = true;
                    WebSocketLog.SignInRequested(_logger, request.AttemptId, request.Pbx, signIn.Url.Host, _options.SignInTimeout);
                    WaitForUser();
                    Report(request, PbxLoginProgress.AwaitingSignIn);
                    InvokeCallback(_options.OnSignIn, signIn, request.AttemptId, nameof(MyAppsTransportOptions.OnSignIn));
                }

                if (step.AuthorizeCode is int code)
                {
                    WebSocketLog.AuthorizeRequested(_logger, request.AttemptId, request.Pbx, _options.SignInTimeout);
                    WaitForUser();
                    Report(request, PbxLoginProgress.AwaitingAuthorization);
                    InvokeCallback(_options.OnAuthorize, code, request.AttemptId, nameof(MyAppsTransportOptions.OnAuthorize));
                }

                if (step.LoggedIn is { } info)
                {
                    var connection = new MyAppsConnection(socket, request.Pbx, info, _options, _timeProvider, _logger, OnLoggedOut);
                    keepSocket = true;
                    if (signingIn)
                    {
                        WebSocketLog.SignedIn(_logger, request.AttemptId, request.Pbx, step.User?.Sip, step.SignInVerified);
                    }

                    WebSocketLog.LoggedIn(_logger, request.AttemptId, request.Pbx, info.Standby, info.Alternative, info.Master);
                    Publish(connection);
                    connection.Start();
                    return new LoggedIn(connection, info);
                }

                if (step.Outcome is { } outcome)
                {
                    // The PBX answered: it is alive, so it gets a proper close handshake.
                    graceful = true;
                    LogOutcome(request, outcome);
                    return outcome;
                }

                // One receive at a time; it stays pending across the LoginInfo deadline (cancelling a WebSocket receive
                // would abort the socket).
                receiving ??= FrameIo.ReceiveAsync(socket, _options.MaxFrameBytes, linked.Token).AsTask();
                if (step.AwaitsLoginInfo)
                {
                    try
                    {
                        await receiving.WaitAsync(LoginDriver.LoginInfoTimeout, _timeProvider, linked.Token).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        WebSocketLog.LoginInfoUnanswered(_logger, request.AttemptId, request.Pbx, LoginDriver.LoginInfoTimeout);
                        step = driver.OnLoginInfoTimeout();
                        continue;
                    }
                }

                var received = await receiving.ConfigureAwait(false);
                receiving = null;
                if (!answered)
                {
                    // The PBX is alive and talking: a staggered round no longer races it.
                    answered = true;
                    Report(request, PbxLoginProgress.Answered);
                }

                step = received.Kind switch
                {
                    ReceivedFrameKind.Text => driver.OnText(received.Data),
                    ReceivedFrameKind.Binary => driver.OnBinary(),
                    ReceivedFrameKind.TooLarge => driver.OnTooLarge(_options.MaxFrameBytes),
                    _ => driver.OnClosed(received.CloseDescription),
                };
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException) when (loginTimeout.IsCancellationRequested)
        {
            var reason = signingIn ? $"the user did not sign in within {_options.SignInTimeout}"
                : waitingForUser ? $"two-factor authorization not confirmed within {_options.SignInTimeout}"
                : $"no login answer within {_options.LoginTimeout}";
            var outcome = new AttemptFailed(AttemptFailureKind.Timeout, reason);
            LogOutcome(request, outcome);
            return outcome;
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
        {
            var outcome = new AttemptFailed(AttemptFailureKind.Unreachable, $"the connection failed during login ({e.GetType().Name}: {e.Message})");
            LogOutcome(request, outcome);
            return outcome;
        }
        finally
        {
            if (signingIn)
            {
                Interlocked.CompareExchange(ref _signingIn, null, request);
            }

            if (graceful)
            {
                // In the background: the outcome (a Redirect above all) must not wait for the close handshake, which a PBX
                // that keeps TCP open after its close frame stretches by up to a second (ClientWebSocket waits for the
                // server's TCP close). Bounded by CloseTimeout; DisposeAsync and WaitForClosesAsync wait for it.
                _closes.Add(FrameIo.CloseQuietlyAsync(socket, WebSocketCloseStatus.NormalClosure, "login ended", _options.CloseTimeout, _timeProvider, _logger, request.Pbx));
            }
            else if (!keepSocket)
            {
                // Timeout, cancellation or a failed socket: a close handshake would only wait for a peer that is not
                // answering, so end at once.
                socket.Abort();
                socket.Dispose();
            }

            // A receive still pending when the login ended (a rejection right after the LoginInfo deadline) ends with
            // the socket; its failure is of no interest.
            _ = receiving?.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        void WaitForUser()
        {
            // The user needs time to sign in or confirm on another device: from the first such request on, the sign-in
            // timeout alone bounds the wait (a two-factor prompt after a sign-in does not extend it).
            if (!waitingForUser)
            {
                waitingForUser = true;
                loginTimeout.CancelAfter(_options.SignInTimeout);
            }
        }
    }

    /// <summary>Closes the current connection (if any), forgets the session and completes <see cref="Connections"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        MyAppsConnection? current;
        Task persisted;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            current = _current;
            _current = null;
            _session = null;
            persisted = _sessionPersisted;
        }

        if (current is not null)
        {
            await current.DisposeAsync().ConfigureAwait(false);
        }

        await _closes.WhenAllAsync(CancellationToken.None).ConfigureAwait(false);

        // The stored session stays for the next run; what is still being written is finished first.
        await persisted.ConfigureAwait(false);
        _invoker?.Dispose();
        _connections.OnCompleted();
        _connections.Dispose();
    }

    /// <summary>
    /// Completes when every socket the transport is still closing in the background has closed and every session write
    /// queued so far (<see cref="MyAppsTransportOptions.SessionStore"/>) has finished, so that after the
    /// manager's <c>StopAsync</c> the session store holds the session the last login learned.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting (the closes and writes go on).</param>
    /// <returns>A task that completes when both are done.</returns>
    public async Task WaitForClosesAsync(CancellationToken cancellationToken)
    {
        await _closes.WhenAllAsync(cancellationToken).ConfigureAwait(false);
        Task persisted;
        lock (_gate)
        {
            persisted = _sessionPersisted;
        }

        // PersistAfterAsync never faults (a failing store is logged), so only the wait can end early.
        await persisted.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How many sockets are being closed in the background (tests).</summary>
    internal int BackgroundCloseCount => _closes.Count;

    /// <summary>The WebSocket URL for a PBX: <c>wss://authority</c> (or <c>ws://</c>) plus the formatted path template.</summary>
    internal Uri BuildUri(PbxAddress pbx, PbxScheme scheme)
    {
        var prefix = scheme == PbxScheme.Wss ? "wss://" : "ws://";
        return new Uri(prefix + pbx.Authority + _options.FormatPath(pbx.Module), UriKind.Absolute);
    }

    private AttemptFailed ConnectFailed(PbxLoginRequest request, AttemptFailureKind kind, string reason, Exception? error = null)
    {
        // A PBX that is down is the failover's ordinary case (the state line tells it); a certificate needs a person.
        if (IsTlsFailure(error))
        {
            WebSocketLog.CertificateRefused(_logger, request.AttemptId, request.Pbx, reason);
        }
        else
        {
            WebSocketLog.ConnectFailed(_logger, request.AttemptId, request.Pbx, kind, reason);
        }
        return new AttemptFailed(kind, reason);
    }

    private void LogOutcome(PbxLoginRequest request, LoginOutcome outcome)
    {
        switch (outcome)
        {
            case Redirected redirected:
                WebSocketLog.Redirected(_logger, request.AttemptId, request.Pbx, redirected.Target);
                break;
            case Rejected rejected:
                WebSocketLog.Rejected(_logger, request.AttemptId, request.Pbx, rejected.Code, rejected.Text);
                break;
            case AttemptFailed failed:
                WebSocketLog.LoginFailed(_logger, request.AttemptId, request.Pbx, failed.Kind, failed.Reason);
                break;
        }
    }

    private void Report(PbxLoginRequest request, PbxLoginProgress progress)
    {
        try
        {
            request.Progress?.Report(progress);
        }
        catch (Exception e)
        {
            // A listener's bug must not fail the login.
            WebSocketLog.ProgressListenerFailed(_logger, request.AttemptId, e.GetType().Name);
        }
    }

    private void InvokeCallback<T>(Action<T>? callback, T value, long attemptId, string name)
    {
        try
        {
            callback?.Invoke(value);
        }
        catch (Exception e)
        {
            // The host's UI failing must not fail the login; the user may still sign in or confirm.
            WebSocketLog.CallbackFailed(_logger, attemptId, name, e.GetType().Name);
        }
    }

    private void Publish(MyAppsConnection connection)
    {
        lock (_gate)
        {
            _current = connection;
            _signInSession = null;
        }

        try
        {
            _connections.OnNext(connection);
        }
        catch (Exception e)
        {
            WebSocketLog.MessageSubscriberFailed(_logger, connection.Pbx, e);
        }
    }

    private void OnLoggedOut() => DropSession(expected: null, "LogoutResult");

    /// <summary>Forgets the session; with <paramref name="expected"/> only if it is still that one (a newer one wins).</summary>
    private void DropSession(MyAppsSession? expected, string reason)
    {
        lock (_gate)
        {
            if (_session is null || (expected is not null && !ReferenceEquals(_session, expected)))
            {
                return;
            }

            _session = null;
            PersistSession(store => store.ClearAsync(_options.Username, CancellationToken.None));
        }

        WebSocketLog.SessionDropped(_logger, reason);
    }

    private static bool IsTlsFailure(Exception? error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is System.Security.Authentication.AuthenticationException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Takes the stored session, unless a session is known already; a failing store is logged and ignored.</summary>
    private async Task LoadSessionAsync(IMyAppsSessionStore store)
    {
        try
        {
            var stored = await store.LoadAsync(_options.Username, CancellationToken.None).ConfigureAwait(false);
            lock (_gate)
            {
                _session ??= stored;
            }
        }
#pragma warning disable CA1031 // A store that fails costs the stored session, never the login.
        catch (Exception e)
#pragma warning restore CA1031
        {
            WebSocketLog.SessionStoreFailed(_logger, "load", e.GetType().Name);
        }
    }

    /// <summary>Queues a write to the session store (under <see cref="_gate"/>): one at a time, in the order of the changes.</summary>
    private void PersistSession(Func<IMyAppsSessionStore, ValueTask> write)
    {
        if (_options.SessionStore is { } store)
        {
            _sessionPersisted = PersistAfterAsync(_sessionPersisted, store, write);
        }
    }

    private async Task PersistAfterAsync(Task previous, IMyAppsSessionStore store, Func<IMyAppsSessionStore, ValueTask> write)
    {
        await previous.ConfigureAwait(false);
        try
        {
            await write(store).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A store that fails costs the stored session, never the connection.
        catch (Exception e)
#pragma warning restore CA1031
        {
            WebSocketLog.SessionStoreFailed(_logger, "write", e.GetType().Name);
        }
    }
}
