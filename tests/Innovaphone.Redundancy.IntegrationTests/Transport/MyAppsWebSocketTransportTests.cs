using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Transport;

/// <summary>
/// The socket shell over real WebSockets on loopback TCP (no HTTP: both ends are made with
/// <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/>; the PBX side is scripted here).
/// Time is a <see cref="FakeTimeProvider"/>: timeouts fire only when a test advances it. No sleeps; the
/// wall-clock <c>WaitAsync</c> bounds only keep a broken test from hanging.
/// </summary>
public sealed class MyAppsWebSocketTransportTests : IAsyncLifetime
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(20);
    private static readonly PbxAddress Master = PbxAddress.Parse("master.example.com/PBX0");

    private readonly FakeTimeProvider _time = new();
    private readonly FakeLogCollector _logs = new();
    private readonly ILoggerFactory _loggerFactory;
    private readonly List<MyAppsWebSocketTransport> _transports = [];
    private LoopbackWebSocketPair _pair = null!;

    public MyAppsWebSocketTransportTests()
    {
        _loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(_logs)).AddProvider(RunSecrets.LoggerProvider));
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private WebSocket Client => _pair.Client;

    private WebSocket Pbx => _pair.Pbx;

    public async ValueTask InitializeAsync() => _pair = await LoopbackWebSocketPair.OpenAsync(Ct);

    public async ValueTask DisposeAsync()
    {
        // The scripted PBX does not answer closes and fake time does not advance: abort first, so that disposing
        // the transports (and their connections) finishes at once instead of waiting for a close reply.
        _pair.Abort();
        foreach (var transport in _transports)
        {
            await transport.DisposeAsync().AsTask().WaitAsync(Hang);
        }

        _pair.Dispose();
        _loggerFactory.Dispose();
        LogSecrets.AssertAbsent(_logs.GetSnapshot(), "secret", "sess-id-1", "sess-pw-1");
    }

    private MyAppsTransportOptions Options(Action<int>? onAuthorize = null) => new()
    {
        Username = "alice",
        Password = "secret",
        UserAgent = "UA",
        TimeProvider = _time,
        LoggerFactory = _loggerFactory,
        RandomSource = LoginFrames.PinnedRandom,
        OnAuthorize = onAuthorize,
    };

    private MyAppsWebSocketTransport NewTransport(MyAppsTransportOptions? options = null, Func<Uri, CancellationToken, ValueTask<WebSocket>>? connect = null)
    {
        var transport = new MyAppsWebSocketTransport(options ?? Options(), connect ?? ((_, _) => ValueTask.FromResult(Client)));
        _transports.Add(transport);
        return transport;
    }

    /// <summary>Starts a login and plays a PBX that accepts alice/secret and redirects to slave.example.com:8443/PBX1.</summary>
    private async Task<Task<LoginOutcome>> PbxRedirectsToSlaveAsync(MyAppsWebSocketTransport transport)
    {
        var outcome = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1), Ct).AsTask();
        await PbxAnswersLoginInfoAsync();
        await PbxReceiveAsync();
        await PbxSendAsync(LoginFrames.Authenticate());
        await PbxReceiveAsync();
        await PbxSendAsync(LoginFrames.Redirect("{\"host\":\"slave.example.com\",\"https\":8443,\"mod\":\"PBX1\"}"));
        return outcome;
    }

    private async Task<JsonElement> PbxReceiveAsync(WebSocket? pbx = null)
    {
        var buffer = new byte[64 * 1024];
        var result = await (pbx ?? Pbx).ReceiveAsync(buffer, Ct).WaitAsync(Hang, Ct);
        result.MessageType.Should().Be(WebSocketMessageType.Text);
        return JsonDocument.Parse(buffer.AsMemory(0, result.Count)).RootElement.Clone();
    }

    private Task PbxSendAsync(string json, WebSocket? pbx = null) =>
        (pbx ?? Pbx).SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, Ct);

    private MyAppsTransportOptions SignInOptions(Action<MyAppsSignIn> onSignIn) =>
        Options() with { Username = string.Empty, Password = null, AllowSingleSignOn = true, OnSignIn = onSignIn };

    /// <summary>
    /// Plays a PBX that offers only single sign-on up to the sign-in page: answers LoginInfo, takes the OAuth2 Login and
    /// sends the page. Returns the shared secret (the client's key share with a fresh PBX key) and the PBX's key share.
    /// </summary>
    private async Task<(string Secret, string KeyShare)> PbxAsksForSignInAsync()
    {
        await PbxAnswersLoginInfoAsync(LoginFrames.LoginInfoResult(digest: false, oauth2: true, oauth2Name: "Windows"));
        var login = await PbxReceiveAsync();
        login.GetProperty("method").GetString().Should().Be("oauth2");
        using var key = MyAppsCrypto.NewKeyPair();
        var secret = MyAppsCrypto.SharedSecret(key, login.GetProperty("keyShare").GetString());
        secret.Should().NotBeNull();
        await PbxSendAsync(LoginFrames.OAuth2Authenticate());
        return (secret!, MyAppsCrypto.KeyShare(key));
    }

    /// <summary>Plays a 13r3+ PBX: receives LoginInfo and answers it (by default: user digest offered).</summary>
    private async Task PbxAnswersLoginInfoAsync(string? answer = null)
    {
        (await PbxReceiveAsync()).GetRawText().Should().Be("{\"mt\":\"LoginInfo\"}");
        await PbxSendAsync(answer ?? LoginFrames.LoginInfoResult());
    }

    /// <summary>Plays a PBX that accepts alice/secret and answers with <paramref name="info"/>.</summary>
    private async Task PbxAcceptsLoginAsync(string info = "{\"session\":{\"usr\":\"709531db4935322206\",\"pwd\":\"eb57d30f5fcdb0706c\"}}")
    {
        await PbxAnswersLoginInfoAsync();
        (await PbxReceiveAsync()).GetProperty("type").GetString().Should().Be("user");
        await PbxSendAsync(LoginFrames.Authenticate());
        (await PbxReceiveAsync()).GetProperty("response").GetString().Should().Be("cea8f3d5f5f769b4933d593457341cd409888d75b4b3e86122e7ec257cb99837");
        await PbxSendAsync(LoginFrames.LoginResult(info));
    }

    private async Task<MyAppsConnection> LogInAsync(MyAppsWebSocketTransport transport)
    {
        var outcome = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1), Ct).AsTask();
        await PbxAcceptsLoginAsync();
        var loggedIn = (await outcome.WaitAsync(Hang, Ct)).Should().BeOfType<LoggedIn>().Subject;
        return loggedIn.Connection.Should().BeOfType<MyAppsConnection>().Subject;
    }

    [Fact]
    public async Task ConnectAsync_SuccessfulLogin_ReturnsConnectionAndKeepsSession()
    {
        var transport = NewTransport();
        var published = transport.Connections.FirstAsync().ToTask(Ct);

        var connection = await LogInAsync(transport);

        connection.Pbx.Should().Be(Master);
        transport.Session.Should().Be(new MyAppsSession("sess-id-1", "sess-pw-1"));
        transport.CurrentConnection.Should().BeSameAs(connection);
        (await published.WaitAsync(Hang, Ct)).Should().BeSameAs(connection);
        connection.Lost.IsCompleted.Should().BeFalse();
        _logs.GetSnapshot().Should().Contain(r => r.Id.Id == WebSocketLog.LoggedInId && r.Level == LogLevel.Information);
    }

    [Fact]
    public async Task ConnectAsync_PassesTemplatedUriToConnector()
    {
        Uri? seen = null;
        var transport = NewTransport(connect: (uri, _) =>
        {
            seen = uri;
            return ValueTask.FromResult(Client);
        });

        await LogInAsync(transport);

        seen.Should().Be(new Uri("wss://master.example.com/PBX0/APPCLIENT/130000/websocket"));
    }

    [Fact]
    public async Task SecondLogin_AfterSessionLearned_UsesSessionType()
    {
        var transport = NewTransport(Options() with { Password = null, InitialSession = new MyAppsSession("sess-id-1", "sess-pw-1") });

        var outcome = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1), Ct).AsTask();
        (await PbxReceiveAsync()).GetProperty("type").GetString().Should().Be("session");
        await PbxSendAsync(LoginFrames.Authenticate("session"));
        var login = await PbxReceiveAsync();
        login.GetProperty("username").GetString().Should().Be("sess-id-1");
        await PbxSendAsync(LoginFrames.LoginResult("{}", "sess-id-1", "sess-pw-1"));

        (await outcome.WaitAsync(Hang, Ct)).Should().BeOfType<LoggedIn>();
        transport.Session.Should().Be(new MyAppsSession("sess-id-1", "sess-pw-1"));
    }

    [Fact]
    public async Task R9_ErrorToTheCredentialLessLogin_IsARefusedAttempt_NotARejection()
    {
        var transport = NewTransport();

        var outcome = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1), Ct).AsTask();
        await PbxAnswersLoginInfoAsync();
        (await PbxReceiveAsync()).TryGetProperty("response", out _).Should().BeFalse("the first Login carries no credentials");
        await PbxSendAsync("{\"mt\":\"LoginResult\",\"error\":2,\"errorText\":\"No licence\"}");

        var failed = (await outcome.WaitAsync(Hang, Ct)).Should().BeOfType<AttemptFailed>().Which;
        failed.Kind.Should().Be(AttemptFailureKind.Refused);
        failed.Reason.Should().Contain("No licence").And.Contain("before any credentials");
    }

    [Fact]
    public async Task ConnectAsync_SessionExpired_DropsSessionAndLogsInAsUserOnSameSocket()
    {
        var transport = NewTransport(Options() with { InitialSession = new MyAppsSession("old-id", "old-pw") });

        var outcome = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1), Ct).AsTask();
        (await PbxReceiveAsync()).GetProperty("type").GetString().Should().Be("session");
        await PbxSendAsync("{\"mt\":\"LoginResult\",\"error\":5,\"errorText\":\"Session expired\"}");
        await PbxAcceptsLoginAsync();

        (await outcome.WaitAsync(Hang, Ct)).Should().BeOfType<LoggedIn>();
        transport.Session.Should().Be(new MyAppsSession("sess-id-1", "sess-pw-1"));
        _logs.GetSnapshot().Should().Contain(r => r.Id.Id == WebSocketLog.SessionExpiredId);
    }

    [Fact]
    public async Task ConnectAsync_Redirect_ReturnsTargetAndClosesSocket()
    {
        var transport = NewTransport();

        var outcome = await PbxRedirectsToSlaveAsync(transport);

        // The client closes after a redirect; answer the close so that the handshake completes without fake time.
        var close = await Pbx.ReceiveAsync(new byte[128], Ct).WaitAsync(Hang, Ct);
        close.MessageType.Should().Be(WebSocketMessageType.Close);
        await Pbx.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, Ct);

        (await outcome.WaitAsync(Hang, Ct)).Should().Be(new Redirected(PbxAddress.Parse("slave.example.com:8443/PBX1"), PbxScheme.Wss));
        transport.CurrentConnection.Should().BeNull();
    }

    [Fact]
    public async Task ConnectAsync_WrongPassword_IsRejected()
    {
        var transport = NewTransport();

        var outcome = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1), Ct).AsTask();
        await PbxAnswersLoginInfoAsync();
        await PbxReceiveAsync();
        await PbxSendAsync(LoginFrames.Authenticate());
        await PbxReceiveAsync();
        await PbxSendAsync("{\"mt\":\"LoginResult\",\"error\":1,\"errorText\":\"Wrong password\"}");
        await Pbx.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, Ct);

        (await outcome.WaitAsync(Hang, Ct)).Should().Be(new Rejected(1, "Wrong password"));
    }

    [Fact]
    public async Task ConnectAsync_NoAnswer_TimesOutByLoginTimeout()
    {
        var transport = NewTransport();

        var outcome = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1), Ct).AsTask();
        await PbxReceiveAsync();
        _time.Advance(TimeSpan.FromSeconds(14));
        outcome.IsCompleted.Should().BeFalse();
        _time.Advance(TimeSpan.FromSeconds(1));

        (await outcome.WaitAsync(Hang, Ct)).Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.Timeout);
    }

    [Fact]
    public async Task ConnectAsync_Authorize_CallsHostAndWaitsWithSignInTimeout()
    {
        var authorized = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var transport = NewTransport(Options(code => authorized.TrySetResult(code)));

        var outcome = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1), Ct).AsTask();
        await PbxAnswersLoginInfoAsync();
        await PbxReceiveAsync();
        await PbxSendAsync(LoginFrames.Authenticate());
        await PbxReceiveAsync();
        await PbxSendAsync("{\"mt\":\"Authorize\",\"code\":4711}");
        (await authorized.Task.WaitAsync(Hang, Ct)).Should().Be(4711);

        // Past the login timeout: still waiting for the user.
        _time.Advance(TimeSpan.FromSeconds(30));
        outcome.IsCompleted.Should().BeFalse();

        await PbxSendAsync(LoginFrames.LoginResult("{}"));
        (await outcome.WaitAsync(Hang, Ct)).Should().BeOfType<LoggedIn>();
        _logs.GetSnapshot().Should().NotContain(r => r.Message.Contains("4711"));
    }

    [Fact]
    public async Task ConnectAsync_AuthorizeNeverConfirmed_TimesOutBySignInTimeout()
    {
        var authorized = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var transport = NewTransport(Options(code => authorized.TrySetResult(code)));

        var outcome = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1), Ct).AsTask();
        await PbxAnswersLoginInfoAsync();
        await PbxReceiveAsync();
        await PbxSendAsync(LoginFrames.Authenticate());
        await PbxReceiveAsync();
        await PbxSendAsync("{\"mt\":\"Authorize\",\"code\":1}");
        await authorized.Task.WaitAsync(Hang, Ct);
        _time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        outcome.IsCompleted.Should().BeFalse();
        _time.Advance(TimeSpan.FromSeconds(1));

        var failed = (await outcome.WaitAsync(Hang, Ct)).Should().BeOfType<AttemptFailed>().Subject;
        failed.Kind.Should().Be(AttemptFailureKind.Timeout);
        failed.Reason.Should().Contain("two-factor");
    }

    [Fact]
    public async Task ConnectAsync_CallerCancels_ThrowsOperationCanceled()
    {
        var transport = NewTransport();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var outcome = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1), cts.Token).AsTask();
        await PbxReceiveAsync();
        await cts.CancelAsync();

        await outcome.Invoking(o => o.WaitAsync(Hang, Ct)).Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task ConnectAsync_WsWithoutAllowInsecure_FailsWithoutConnecting()
    {
        var called = false;
        var transport = NewTransport(connect: (_, _) =>
        {
            called = true;
            return ValueTask.FromResult(Client);
        });

        var outcome = await transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Ws, 1), Ct);

        called.Should().BeFalse();
        outcome.Should().BeOfType<AttemptFailed>().Which.Reason.Should().Contain("AllowInsecure");
        _logs.GetSnapshot().Should().Contain(r => r.Id.Id == WebSocketLog.InsecureRefusedId);
    }

    [Fact]
    public async Task ConnectAsync_ConnectorRefused_IsUnreachable()
    {
        var transport = NewTransport(connect: (_, _) =>
            throw new WebSocketException("Unable to connect to the remote server", new SocketException((int)SocketError.ConnectionRefused)));

        var outcome = await transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1), Ct);

        outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.Unreachable);
        _logs.GetSnapshot().Should().Contain(r => r.Id.Id == WebSocketLog.ConnectFailedId && r.Level == LogLevel.Information, "a PBX that is down is the ordinary case");
    }

    [Fact]
    public async Task ConnectAsync_HandshakeHangs_TimesOutByConnectTimeout()
    {
        var transport = NewTransport(connect: async (_, token) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, token);
            return Client;
        });

        var outcome = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1), Ct).AsTask();
        _time.Advance(TimeSpan.FromSeconds(10));

        (await outcome.WaitAsync(Hang, Ct)).Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.Timeout);
    }

    [Fact]
    public async Task ConnectAsync_RealClientWebSocketToClosedPort_IsUnreachable()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        await using var transport = new MyAppsWebSocketTransport(Options() with { AllowInsecure = true, TimeProvider = null });

        var outcome = await transport.ConnectAsync(new PbxLoginRequest(PbxAddress.Parse($"127.0.0.1:{port}/PBX0"), PbxScheme.Ws, 1), Ct);

        outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.Unreachable);
    }

    [Fact]
    public async Task Connection_AppMessages_AreSentAndReceived()
    {
        var transport = NewTransport();
        var connection = await LogInAsync(transport);
        var received = connection.Messages.FirstAsync().ToTask(Ct);

        await connection.SendAsync("{\"mt\":\"SubscribeApps\"}"u8.ToArray(), Ct);
        (await PbxReceiveAsync()).GetProperty("mt").GetString().Should().Be("SubscribeApps");
        await PbxSendAsync("{\"mt\":\"UpdateAppsInfo\", \"x\":1}");

        (await received.WaitAsync(Hang, Ct)).Should().Be("{\"mt\":\"UpdateAppsInfo\", \"x\":1}");
    }

    [Fact]
    public async Task Connection_StandbyBack_EndsWithStandbyBack()
    {
        var transport = NewTransport();
        var connection = await LogInAsync(transport);

        await PbxSendAsync("{\"mt\":\"StandbyBack\"}");

        (await connection.Lost.WaitAsync(Hang, Ct)).Kind.Should().Be(ConnectionLossKind.StandbyBack);
        transport.Session.Should().NotBeNull("StandbyBack keeps the session for the reconnect (R8)");
    }

    [Fact]
    public async Task Connection_LogoutResult_EndsWithLoggedOutAndDropsSession()
    {
        var transport = NewTransport();
        var connection = await LogInAsync(transport);
        transport.Session.Should().NotBeNull();

        await PbxSendAsync("{\"mt\":\"LogoutResult\"}");

        (await connection.Lost.WaitAsync(Hang, Ct)).Kind.Should().Be(ConnectionLossKind.LoggedOut);
        transport.Session.Should().BeNull();
    }

    [Fact]
    public async Task Connection_PbxCloses_EndsWithClosed()
    {
        var transport = NewTransport();
        var connection = await LogInAsync(transport);

        await Pbx.CloseOutputAsync(WebSocketCloseStatus.EndpointUnavailable, "shutdown", Ct);

        var loss = await connection.Lost.WaitAsync(Hang, Ct);
        loss.Kind.Should().Be(ConnectionLossKind.Closed);
        loss.Reason.Should().Contain("EndpointUnavailable");
    }

    [Fact]
    public async Task Connection_SocketDies_EndsWithClosed()
    {
        var transport = NewTransport();
        var connection = await LogInAsync(transport);

        Pbx.Abort();
        _pair.Dispose();

        (await connection.Lost.WaitAsync(Hang, Ct)).Kind.Should().Be(ConnectionLossKind.Closed);
    }

    [Fact]
    public async Task Connection_BinaryFrame_EndsWithClosed()
    {
        var transport = NewTransport();
        var connection = await LogInAsync(transport);

        await Pbx.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, true, Ct);

        var loss = await connection.Lost.WaitAsync(Hang, Ct);
        loss.Kind.Should().Be(ConnectionLossKind.Closed);
        loss.Reason.Should().Contain("binary");
    }

    [Fact]
    public async Task Connection_FrameOverLimit_EndsWithClosed()
    {
        var transport = NewTransport(Options() with { MaxFrameBytes = 1024 });
        var connection = await LogInAsync(transport);

        await PbxSendAsync("{\"mt\":\"Big\",\"x\":\"" + new string('a', 2000) + "\"}");

        (await connection.Lost.WaitAsync(Hang, Ct)).Reason.Should().Contain("1024");
    }

    [Fact]
    public async Task Connection_Dispose_EndsClosedByClientWithCloseHandshake()
    {
        var transport = NewTransport();
        var connection = await LogInAsync(transport);
        var pbxSide = Task.Run(async () =>
        {
            var result = await Pbx.ReceiveAsync(new byte[128], Ct);
            await Pbx.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, Ct);
            return result.MessageType;
        }, Ct);

        await connection.DisposeAsync().AsTask().WaitAsync(Hang, Ct);

        (await connection.Lost).Kind.Should().Be(ConnectionLossKind.ClosedByClient);
        (await pbxSide.WaitAsync(Hang, Ct)).Should().Be(WebSocketMessageType.Close);
        await connection.Invoking(c => c.SendAsync("{}"u8.ToArray(), Ct).AsTask()).Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public async Task Connection_DisposeWhenPbxSilent_AbortsAfterCloseTimeout()
    {
        var transport = NewTransport();
        var connection = await LogInAsync(transport);

        var dispose = connection.DisposeAsync().AsTask();
        await Pbx.ReceiveAsync(new byte[128], Ct).WaitAsync(Hang, Ct);
        dispose.IsCompleted.Should().BeFalse("the PBX has not answered the close yet");
        _time.Advance(TimeSpan.FromSeconds(2));

        await dispose.WaitAsync(Hang, Ct);
        (await connection.Lost).Kind.Should().Be(ConnectionLossKind.ClosedByClient);
    }

    [Fact]
    public async Task Connection_IdlePbxSendsNothing_StaysUp()
    {
        // A PBX sends nothing while idle. An earlier net8.0 receive watchdog, on this TimeProvider, ended such a connection
        // after interval + timeout (this test failed on the net8.0 leg then); on every runtime only a missing PONG
        // (.NET 9+, ClientWebSocket's own timer) or TCP keep-alive (the kernel's) may end it now.
        var transport = NewTransport();
        var connection = await LogInAsync(transport);

        for (var i = 0; i < 12; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
        }

        connection.Lost.IsCompleted.Should().BeFalse("two idle minutes of a healthy connection are not a loss");
        _logs.GetSnapshot().Should().NotContain(r => r.Id.Id == WebSocketLog.KeepAliveExpiredId);
    }

    [Fact]
    public async Task ConnectAsync_Redirect_ReturnsBeforeTheCloseHandshakeEnds()
    {
        var transport = NewTransport();

        var outcome = await PbxRedirectsToSlaveAsync(transport);

        // The PBX never answers the close: the outcome is there all the same, and the close goes on in the background.
        (await outcome.WaitAsync(Hang, Ct)).Should().BeOfType<Redirected>();
        (await Pbx.ReceiveAsync(new byte[128], Ct).WaitAsync(Hang, Ct)).MessageType.Should().Be(WebSocketMessageType.Close);
        transport.BackgroundCloseCount.Should().Be(1);
        var closed = transport.WaitForClosesAsync(Ct);
        closed.IsCompleted.Should().BeFalse("the close handshake waits for the PBX, up to CloseTimeout");

        _time.Advance(TimeSpan.FromSeconds(2));
        await closed.WaitAsync(Hang, Ct);
        transport.BackgroundCloseCount.Should().Be(0);
        Client.State.Should().Be(WebSocketState.Aborted, "a close that timed out aborts the socket");
    }

    [Fact]
    public async Task ConnectAsync_ReportsAnsweredOnFirstFrame_AndAwaitingAuthorization()
    {
        var transport = NewTransport(Options(onAuthorize: _ => { }));
        var reports = new List<PbxLoginProgress>();
        var request = new PbxLoginRequest(Master, PbxScheme.Wss, 1) { Progress = new ListProgress(reports) };

        var outcome = transport.ConnectAsync(request, Ct).AsTask();
        await PbxReceiveAsync();
        reports.Should().BeEmpty("the PBX has not answered yet");
        await PbxSendAsync(LoginFrames.LoginInfoResult());
        await PbxReceiveAsync();
        reports.Should().Equal(PbxLoginProgress.Answered);
        await PbxSendAsync(LoginFrames.Authenticate());
        await PbxReceiveAsync();
        await PbxSendAsync("{\"mt\":\"Authorize\",\"code\":4711}");
        await PbxSendAsync(LoginFrames.LoginResult("{\"session\":{\"usr\":\"709531db4935322206\",\"pwd\":\"eb57d30f5fcdb0706c\"}}"));

        (await outcome.WaitAsync(Hang, Ct)).Should().BeOfType<LoggedIn>();
        reports.Should().Equal(PbxLoginProgress.Answered, PbxLoginProgress.AwaitingAuthorization);
    }

    [Fact]
    public async Task ConnectAsync_SignIn_ShowsThePageWaitsForTheUserAndKeepsSessionAndUser()
    {
        var signIns = new List<MyAppsSignIn>();
        var shown = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var transport = NewTransport(SignInOptions(signIn =>
        {
            signIns.Add(signIn);
            shown.TrySetResult();
        }));
        var reports = new List<PbxLoginProgress>();

        var outcome = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1) { Progress = new ListProgress(reports) }, Ct).AsTask();
        var (secret, keyShare) = await PbxAsksForSignInAsync();
        await shown.Task.WaitAsync(Hang, Ct);

        // The user takes longer than LoginTimeout (15 s): from the sign-in page on, SignInTimeout bounds the wait.
        _time.Advance(TimeSpan.FromMinutes(1));
        outcome.IsCompleted.Should().BeFalse();
        var info = $"{{\"user\":{{\"sip\":\"alice\",\"dn\":\"Alice A\",\"email\":\"alice@example.com\"}},\"session\":{LoginFrames.SignInSession(secret)},\"keyShare\":\"{keyShare}\"}}";
        await PbxSendAsync(LoginFrames.SignInLoginResult(info, secret));

        (await outcome.WaitAsync(Hang, Ct)).Should().BeOfType<LoggedIn>();
        signIns.Should().ContainSingle().Which.Should().Be(new MyAppsSignIn(Master, new Uri(LoginFrames.SignInUrl)) { ProviderName = "Windows" });
        reports.Should().Equal(PbxLoginProgress.Answered, PbxLoginProgress.AwaitingSignIn);
        transport.Session.Should().Be(new MyAppsSession("sso-sess-id", "sso-sess-pw"));
        transport.User.Should().BeEquivalentTo(new MyAppsUser { Sip = "alice", DisplayName = "Alice A", Email = "alice@example.com" });
        var logs = _logs.GetSnapshot();
        logs.Should().ContainSingle(r => r.Id.Id == WebSocketLog.SignInRequestedId && r.Level == LogLevel.Information)
            .Which.Message.Should().Contain("idp.example.com").And.NotContain("realms");
        logs.Should().ContainSingle(r => r.Id.Id == WebSocketLog.SignedInId && r.Level == LogLevel.Debug).Which.Message.Should().Contain("as alice").And.Contain("True");
        logs.Should().AllSatisfy(r => r.Message.Should().NotContainAny("alice@example.com", "Alice A"));
        LogSecrets.AssertAbsent(logs, "st4te-0f-this-login", secret, "sso-sess-id", "sso-sess-pw");
    }

    [Fact]
    public async Task ConnectAsync_SignInNeverCompleted_TimesOutBySignInTimeout()
    {
        var shown = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var authorized = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = SignInOptions(_ =>
        {
            shown.TrySetResult();
            throw new InvalidOperationException("the host's UI failed");
        });
        var transport = NewTransport(options with { OnAuthorize = _ => authorized.TrySetResult() });

        var outcome = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1), Ct).AsTask();
        await PbxAsksForSignInAsync();
        await shown.Task.WaitAsync(Hang, Ct);
        await PbxSendAsync("{\"mt\":\"Authorize\",\"code\":5774}");
        await authorized.Task.WaitAsync(Hang, Ct);
        _time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1));
        outcome.IsCompleted.Should().BeFalse("a two-factor prompt after the sign-in page does not restart the wait, nor end it");
        _time.Advance(TimeSpan.FromSeconds(1));

        var failed = (await outcome.WaitAsync(Hang, Ct)).Should().BeOfType<AttemptFailed>().Subject;
        failed.Kind.Should().Be(AttemptFailureKind.Timeout);
        failed.Reason.Should().Contain("did not sign in");
        _logs.GetSnapshot().Should().Contain(r => r.Id.Id == WebSocketLog.CallbackFailedId && r.Message.Contains("OnSignIn"));
    }

    [Fact]
    public async Task ConnectAsync_RedirectAfterSignIn_TargetUsesTheSessionAndItsExpiryIsRejectedNotASecondSignIn()
    {
        using var second = await LoopbackWebSocketPair.OpenAsync(Ct);
        var clients = new Queue<WebSocket>([Client, second.Client]);
        var signIns = 0;
        var transport = NewTransport(SignInOptions(_ => signIns++), (_, _) => ValueTask.FromResult(clients.Dequeue()));

        var first = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1), Ct).AsTask();
        var (secret, keyShare) = await PbxAsksForSignInAsync();
        var info = $"{{\"host\":\"home.example.com\",\"email\":\"alice@example.com\",\"keyShare\":\"{keyShare}\",\"session\":{LoginFrames.SignInSession(secret)}}}";
        await PbxSendAsync(LoginFrames.SignInRedirect(info, secret));
        (await first.WaitAsync(Hang, Ct)).Should().Be(new Redirected(PbxAddress.Parse("home.example.com/PBX0"), PbxScheme.Wss));
        transport.Session.Should().Be(new MyAppsSession("sso-sess-id", "sso-sess-pw"));

        // At the target: a session login at once (no LoginInfo); the session expires there before any login with it.
        var atHome = transport.ConnectAsync(new PbxLoginRequest(PbxAddress.Parse("home.example.com/PBX0"), PbxScheme.Wss, 2), Ct).AsTask();
        (await PbxReceiveAsync(second.Pbx)).GetRawText().Should().Be("{\"mt\":\"Login\",\"type\":\"session\",\"userAgent\":\"UA\"}");
        await PbxSendAsync("{\"mt\":\"LoginResult\",\"error\":5,\"errorText\":\"Session expired\"}", second.Pbx);

        (await atHome.WaitAsync(Hang, Ct)).Should().Be(new Rejected(RejectionCodes.SessionExpired, "Session expired"));
        signIns.Should().Be(1);
        transport.Session.Should().BeNull();
    }

    [Fact]
    public async Task ConnectAsync_SessionFromASignInExpiresLater_SignsInAgain()
    {
        using var second = await LoopbackWebSocketPair.OpenAsync(Ct);
        var clients = new Queue<WebSocket>([Client, second.Client]);
        var signIns = 0;
        var transport = NewTransport(SignInOptions(_ => signIns++), (_, _) => ValueTask.FromResult(clients.Dequeue()));

        var first = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1), Ct).AsTask();
        var (secret, keyShare) = await PbxAsksForSignInAsync();
        await PbxSendAsync(LoginFrames.SignInLoginResult($"{{\"session\":{LoginFrames.SignInSession(secret)},\"keyShare\":\"{keyShare}\"}}", secret));
        (await first.WaitAsync(Hang, Ct)).Should().BeOfType<LoggedIn>();

        // A failover, long after: the session has expired; the user signs in again on the same socket.
        var failover = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 2), Ct).AsTask();
        (await PbxReceiveAsync(second.Pbx)).GetProperty("type").GetString().Should().Be("session");
        await PbxSendAsync("{\"mt\":\"LoginResult\",\"error\":5}", second.Pbx);
        (await PbxReceiveAsync(second.Pbx)).GetProperty("mt").GetString().Should().Be("LoginInfo");
        await PbxSendAsync(LoginFrames.LoginInfoResult(digest: false, oauth2: true), second.Pbx);
        (await PbxReceiveAsync(second.Pbx)).GetProperty("method").GetString().Should().Be("oauth2");

        failover.IsCompleted.Should().BeFalse();
        signIns.Should().Be(1, "the second sign-in page has not come yet");
    }

    [Fact]
    public async Task ConnectAsync_LoginInfoUnanswered_LogsInByDigestAfterTheDeadline()
    {
        var time = new TimerWatch(_time, LoginDriver.LoginInfoTimeout);
        var transport = NewTransport(Options() with { TimeProvider = time });

        var outcome = transport.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 1), Ct).AsTask();
        (await PbxReceiveAsync()).GetProperty("mt").GetString().Should().Be("LoginInfo");
        await time.Created.Task.WaitAsync(Hang, Ct);
        _time.Advance(LoginDriver.LoginInfoTimeout);
        (await PbxReceiveAsync()).GetRawText().Should().Be("{\"mt\":\"Login\",\"type\":\"user\",\"userAgent\":\"UA\"}");
        await PbxSendAsync(LoginFrames.Authenticate());
        await PbxReceiveAsync();
        await PbxSendAsync(LoginFrames.LoginResult("{}"));

        (await outcome.WaitAsync(Hang, Ct)).Should().BeOfType<LoggedIn>();
        _logs.GetSnapshot().Should().ContainSingle(r => r.Id.Id == WebSocketLog.LoginInfoUnansweredId && r.Level == LogLevel.Debug);
    }

    [Fact]
    public void TcpKeepAlive_FollowsTheKeepAliveOptions()
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        MyAppsWebSocketTransport.ConfigureTcpKeepAlive(socket, TimeSpan.FromSeconds(7), TimeSpan.FromMilliseconds(2500));

        ((int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!).Should().NotBe(0);
        socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime).Should().Be(7);
        socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval).Should().Be(1);
        socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount).Should().Be(3, "2.5 s of probes one second apart round up to 3");
    }

    [Fact]
    public void TcpKeepAlive_Off_WhenKeepAliveIsOff()
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        MyAppsWebSocketTransport.ConfigureTcpKeepAlive(socket, TimeSpan.Zero, TimeSpan.FromSeconds(5));

        ((int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!).Should().Be(0);
    }

    private sealed class ListProgress(List<PbxLoginProgress> reports) : IProgress<PbxLoginProgress>
    {
        public void Report(PbxLoginProgress value) => reports.Add(value);
    }

    /// <summary>A fake clock that tells when a timer of one due time is created (the LoginInfo deadline starts after a send).</summary>
    private sealed class TimerWatch(FakeTimeProvider inner, TimeSpan watched) : TimeProvider
    {
        public TaskCompletionSource Created { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override long TimestampFrequency => inner.TimestampFrequency;

        public override DateTimeOffset GetUtcNow() => inner.GetUtcNow();

        public override long GetTimestamp() => inner.GetTimestamp();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = inner.CreateTimer(callback, state, dueTime, period);
            if (dueTime == watched)
            {
                Created.TrySetResult();
            }

            return timer;
        }
    }

    [Fact]
    public async Task Logs_WholeLogin_ContainNoSecrets()
    {
        var transport = NewTransport();
        var connection = await LogInAsync(transport);
        await PbxSendAsync("{\"mt\":\"LogoutResult\"}");
        await connection.Lost.WaitAsync(Hang, Ct);

        _logs.GetSnapshot().Should().NotBeEmpty().And.AllSatisfy(r =>
            r.Message.Should().NotContainAny("secret", "sess-id-1", "sess-pw-1", LoginFrames.Nonce, LoginFrames.Challenge));
    }

    [Fact]
    public async Task DisposeAsync_Transport_ClosesCurrentConnectionAndForgetsSession()
    {
        var transport = NewTransport();
        var connection = await LogInAsync(transport);
        _ = Task.Run(async () =>
        {
            await Pbx.ReceiveAsync(new byte[128], Ct);
            await Pbx.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, Ct);
        }, Ct);

        await transport.DisposeAsync().AsTask().WaitAsync(Hang, Ct);

        (await connection.Lost).Kind.Should().Be(ConnectionLossKind.ClosedByClient);
        transport.Session.Should().BeNull();
        await transport.Invoking(t => t.ConnectAsync(new PbxLoginRequest(Master, PbxScheme.Wss, 2), Ct).AsTask())
            .Should().ThrowAsync<ObjectDisposedException>();
    }
}

/// <summary>
/// One end-to-end check of the real <see cref="ClientWebSocket"/> path (URL, upgrade, login) against an in-test
/// <see cref="HttpListener"/> on loopback with ws:// (AllowInsecure). Real time; bounded waits only.
/// </summary>
public sealed class MyAppsWebSocketTransportHttpListenerTests
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(20);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ConnectAsync_RealClientWebSocket_LogsInOverWs()
    {
        // HttpListener on 127.0.0.1 needs a URL ACL (admin) on Windows.
        Assert.SkipWhen(OperatingSystem.IsWindows(), "HttpListener prefixes on 127.0.0.1 need a URL ACL on Windows");
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var requestedPath = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pbx = Task.Run(async () =>
        {
            var context = await listener.GetContextAsync();
            requestedPath.TrySetResult(context.Request.Url!.AbsolutePath);
            var ws = (await context.AcceptWebSocketAsync(subProtocol: null)).WebSocket;
            var buffer = new byte[4096];
            await ws.ReceiveAsync(buffer, Ct);
            await ws.SendAsync(Encoding.UTF8.GetBytes(LoginFrames.LoginInfoResult()), WebSocketMessageType.Text, true, Ct);
            await ws.ReceiveAsync(buffer, Ct);
            await ws.SendAsync(Encoding.UTF8.GetBytes(LoginFrames.Authenticate()), WebSocketMessageType.Text, true, Ct);
            await ws.ReceiveAsync(buffer, Ct);
            await ws.SendAsync(Encoding.UTF8.GetBytes(LoginFrames.LoginResult("{\"standby\":true}")), WebSocketMessageType.Text, true, Ct);
            var close = await ws.ReceiveAsync(buffer, Ct);
            if (close.MessageType == WebSocketMessageType.Close)
            {
                await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, Ct);
            }
        }, Ct);

        await using var transport = new MyAppsWebSocketTransport(new MyAppsTransportOptions
        {
            Username = "alice",
            Password = "secret",
            AllowInsecure = true,
            RandomSource = LoginFrames.PinnedRandom,
        });

        var outcome = await transport.ConnectAsync(new PbxLoginRequest(PbxAddress.Parse($"127.0.0.1:{port}/PBX0"), PbxScheme.Ws, 1), Ct)
            .AsTask().WaitAsync(Hang, Ct);

        var loggedIn = outcome.Should().BeOfType<LoggedIn>().Subject;
        loggedIn.Info.Standby.Should().BeTrue();
        (await requestedPath.Task).Should().Be("/PBX0/APPCLIENT/130000/websocket");
        await loggedIn.Connection.DisposeAsync();
        (await loggedIn.Connection.Lost).Kind.Should().Be(ConnectionLossKind.ClosedByClient);
        await pbx.WaitAsync(Hang, Ct);
    }
}
