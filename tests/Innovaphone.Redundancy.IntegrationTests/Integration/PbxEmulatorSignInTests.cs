using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Integration;

/// <summary>
/// The emulator's login methods and OAuth2 sign-in, driven with a raw <see cref="ClientWebSocket"/> as a client would:
/// LoginInfo, the oauth2 Login with an ECDHE key share (MyAppsCrypto), the sign-in page over HTTP, and the session
/// that comes of it, at the same PBX and at others.
/// </summary>
[Trait("Category", "Integration")]
public sealed class PbxEmulatorSignInTests : IAsyncLifetime
{
    private const string User = "alice";
    private readonly PbxEmulator _emulator = new();
    private readonly HttpClient _browser = new();
    private readonly List<IDisposable> _disposables = [];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        RunSecrets.AddSecrets(_emulator.SecretsSeen);
        _browser.Dispose();
        _disposables.ForEach(d => d.Dispose());
        return _emulator.DisposeAsync();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LoginInfo_TellsThePbxsOwnLoginMethods()
    {
        var digest = await _emulator.AddMasterAsync(cancellationToken: Ct);
        var sso = await _emulator.AddMasterAsync(cancellationToken: Ct);
        _emulator.System.SetLoginMethods(sso, SimulatedLoginMethods.SingleSignOnOnly with { OAuth2Name = "Windows" });

        using var atDigest = await ConnectAsync(_emulator.GetUri(digest));
        using var atSso = await ConnectAsync(_emulator.GetUri(sso));
        await SendAsync(atDigest, """{"mt":"LoginInfo"}""");
        await SendAsync(atSso, """{"mt":"LoginInfo"}""");

        (await ReceiveAsync(atDigest)).Text.Should().Be(
            """{"mt":"LoginInfoResult","user":{"digest":true,"ntlm":false,"oauth2":false},"session":{"digest":true}}""");
        (await ReceiveAsync(atSso)).Text.Should().Be(
            """{"mt":"LoginInfoResult","user":{"digest":false,"ntlm":false,"oauth2":true,"oauth2Name":"Windows"},"session":{"digest":true}}""");
    }

    [Fact]
    public async Task LoginInfo_PbxBefore13r3_AnswersNothing()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: Ct);
        _emulator.System.SetLoginMethods(pbx, SimulatedLoginMethods.Default with { AnswersLoginInfo = false });
        using var socket = await ConnectAsync(_emulator.GetUri(pbx));

        await SendAsync(socket, """{"mt":"LoginInfo"}""");
        await SendAsync(socket, """{"mt":"Login","type":"user","userAgent":"raw"}""");

        // Frames are answered in order: the first answer is the Authenticate, so the LoginInfo got none.
        var (_, first) = await ReceiveAsync(socket);
        first.GetProperty("mt").GetString().Should().Be("Authenticate");
        first.GetProperty("challenge").GetString().Should().MatchRegex("^[0-9a-f]{16}$", "challenges are 8 bytes, as the published flow shows");
    }

    [Fact]
    public async Task WebSocketPath_OfInnovaphonesOAuth2Client_IsServedToo()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: Ct);
        var uri = new Uri($"ws://{pbx.Address.Host}:{pbx.Address.Port}/{pbx.Address.Module}/WEBSOCKET/websocket");
        using var socket = await ConnectAsync(uri);

        await SendAsync(socket, """{"mt":"LoginInfo"}""");

        (await ReceiveAsync(socket)).Json.GetProperty("mt").GetString().Should().Be("LoginInfoResult");
    }

    [Fact]
    public async Task OAuth2_SignInAtThePage_LoginResultCarriesUserAndSession_ThatLogsInAtTheStandbyLater()
    {
        var master = await _emulator.AddMasterAsync(cancellationToken: Ct);
        var standby = await _emulator.AddStandbyAsync(master, cancellationToken: Ct);
        _emulator.System.SetLoginMethods(master, SimulatedLoginMethods.SingleSignOnOnly);
        _emulator.System.AddUser(User, "nobody-knows-it", home: master, displayName: "Alice O'Hara", number: "23");
        _emulator.SignInAs(User);
        using var socket = await ConnectAsync(_emulator.GetUri(master));

        var login = await SendOAuth2LoginAsync(socket);
        var authenticate = login.Authenticate;
        authenticate.GetProperty("type").GetString().Should().Be("user");
        authenticate.GetProperty("method").GetString().Should().Be("oauth2");
        var url = new Uri(authenticate.GetProperty("url").GetString()!);
        url.Host.Should().Be("127.0.0.1");
        (await _browser.GetStringAsync(url, Ct)).Should().Contain("Signed in as alice");

        var (text, result) = await ReceiveAsync(socket);
        result.GetProperty("mt").GetString().Should().Be("LoginResult");
        var info = result.GetProperty("info");
        var rawInfo = info.GetRawText();
        text.Should().Contain(rawInfo);
        var guid = info.GetProperty("user").GetProperty("guid").GetString();
        rawInfo.Should().StartWith(
            $$"""{"user":{"domain":"emulated.example.com","sip":"alice","guid":"{{guid}}","dn":"Alice O'Hara","num":"23","email":"alice@emulated.example.com"},"session":{""",
            "info.user comes first, as innovaphone's PBX sends it, and names are escaped as JavaScript's JSON.stringify does");
        info.GetProperty("user").GetProperty("guid").GetString().Should().MatchRegex("^[0-9a-f]{32}$");
        info.GetProperty("alt").GetString().Should().Be(standby.Address.ToString());
        var secret = MyAppsCrypto.SharedSecret(login.KeyPair, info.GetProperty("keyShare").GetString())!;
        secret.Should().MatchRegex("^[0-9a-f]{64}$");
        result.GetProperty("digest").GetString().Should().Be(
            MyAppsCrypto.LoginResultDigest(login.Domain, User, secret, login.Nonce, login.Challenge, Encoding.UTF8.GetBytes(rawInfo)));
        var session = DecryptSession(info.GetProperty("session"), login.Nonce, secret);
        (await _browser.GetAsync(url, Ct)).StatusCode.Should().Be(HttpStatusCode.NotFound, "a sign-in page works once");

        // The master goes down: the session, issued at the master, logs in at the standby without a sign-in.
        _emulator.System.Kill(master);
        using var atStandby = await ConnectAsync(_emulator.GetUri(standby));
        var (_, standbyResult) = await SessionLoginAsync(atStandby, session);

        standbyResult.GetProperty("mt").GetString().Should().Be("LoginResult");
        standbyResult.GetProperty("info").GetProperty("standby").GetBoolean().Should().BeTrue();
        standbyResult.GetProperty("info").GetProperty("user").GetProperty("sip").GetString().Should().Be(User);
        _emulator.System.Attempts.Select(a => a.Outcome).Should().Equal(SimulatedAttemptOutcome.LoggedIn, SimulatedAttemptOutcome.LoggedInStandby);
    }

    [Fact]
    public async Task OAuth2_UserLivesElsewhere_RedirectCarriesAVerifiableDigestAndASessionForTheTarget()
    {
        var master = await _emulator.AddMasterAsync(cancellationToken: Ct);
        var slave = await _emulator.AddSlaveAsync(master, cancellationToken: Ct);
        _emulator.System.SetLoginMethods(master, SimulatedLoginMethods.SingleSignOnOnly);
        _emulator.System.SetLoginMethods(slave, SimulatedLoginMethods.SingleSignOnOnly);
        _emulator.System.AddUser(User, "nobody-knows-it", home: slave);
        _emulator.SignInAs(User, automatic: true);
        using var socket = await ConnectAsync(_emulator.GetUri(master));

        var login = await SendOAuth2LoginAsync(socket);
        var (_, redirect) = await ReceiveAsync(socket);

        redirect.GetProperty("mt").GetString().Should().Be("Redirect");
        var info = redirect.GetProperty("info");
        info.GetProperty("host").GetString().Should().Be("127.0.0.1");
        info.GetProperty("http").GetInt32().Should().Be(slave.Address.Port);
        info.GetProperty("mod").GetString().Should().Be("PBX0");
        info.GetProperty("sip").GetString().Should().Be(User);
        info.GetProperty("email").GetString().Should().Be("alice@emulated.example.com");
        info.GetProperty("dn").GetString().Should().Be(User);
        var secret = MyAppsCrypto.SharedSecret(login.KeyPair, info.GetProperty("keyShare").GetString())!;
        redirect.GetProperty("digest").GetString().Should().Be(
            MyAppsCrypto.RedirectDigest(User, secret, login.Nonce, login.Challenge, Encoding.UTF8.GetBytes(info.GetRawText())),
            "the client checks it with the names in the info, sip first");
        var session = DecryptSession(info.GetProperty("session"), login.Nonce, secret);

        using var atSlave = await ConnectAsync(_emulator.GetUri(slave));
        var (_, result) = await SessionLoginAsync(atSlave, session);

        result.GetProperty("mt").GetString().Should().Be("LoginResult");
        result.GetProperty("info").GetProperty("user").GetProperty("sip").GetString().Should().Be(User);
        _emulator.System.Attempts.Select(a => a.Outcome).Should().Equal(SimulatedAttemptOutcome.Redirected, SimulatedAttemptOutcome.LoggedIn);
    }

    [Fact]
    public async Task OAuth2_TwoFactor_SendsAuthorizeAfterTheSignIn_AndAnswersOnceConfirmed()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: Ct);
        _emulator.System.SetLoginMethods(pbx, SimulatedLoginMethods.SingleSignOnOnly);
        _emulator.System.AddUser(User, "nobody-knows-it", home: pbx);
        _emulator.RequireTwoFactor(pbx, 5774);
        using var socket = await ConnectAsync(_emulator.GetUri(pbx));
        var login = await SendOAuth2LoginAsync(socket);

        // The browser was not signed in yet: the sign-in pending, then automatic sign-in completes it.
        _emulator.SignInAs(User, automatic: true);
        var (authorize, _) = await ReceiveAsync(socket);
        _emulator.ConfirmTwoFactor(pbx);
        var (_, result) = await ReceiveAsync(socket);

        authorize.Should().Be("""{"mt":"Authorize","code":5774}""");
        result.GetProperty("mt").GetString().Should().Be("LoginResult");
        result.TryGetProperty("error", out _).Should().BeFalse();
        login.Authenticate.GetProperty("url").GetString().Should().Contain("/sso/");
    }

    [Fact]
    public async Task SignInPage_NobodySignedIn_Is403AndKeepsWaiting_UnknownPageIs404()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: Ct);
        _emulator.System.SetLoginMethods(pbx, SimulatedLoginMethods.SingleSignOnOnly);
        _emulator.System.AddUser(User, "nobody-knows-it", home: pbx);
        using var socket = await ConnectAsync(_emulator.GetUri(pbx));
        var url = new Uri((await SendOAuth2LoginAsync(socket)).Authenticate.GetProperty("url").GetString()!);

        (await _browser.GetAsync(url, Ct)).StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await _browser.GetAsync(new Uri(url, "/sso/0123456789abcdef"), Ct)).StatusCode.Should().Be(HttpStatusCode.NotFound);
        _emulator.SignInAs(User);
        (await _browser.GetAsync(url, Ct)).StatusCode.Should().Be(HttpStatusCode.OK);

        (await ReceiveAsync(socket)).Json.GetProperty("mt").GetString().Should().Be("LoginResult");
    }

    [Fact]
    public async Task SignInPending_ClientGivesUp_CloseIsAnswered_AndThePageIsGone()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: Ct);
        _emulator.System.SetLoginMethods(pbx, SimulatedLoginMethods.SingleSignOnOnly);
        _emulator.System.AddUser(User, "nobody-knows-it", home: pbx);
        _emulator.SignInAs(User);
        using var socket = await ConnectAsync(_emulator.GetUri(pbx));
        var url = new Uri((await SendOAuth2LoginAsync(socket)).Authenticate.GetProperty("url").GetString()!);

        // A client's sign-in timeout: it closes while the page was never opened.
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "sign-in timed out", Ct);

        socket.State.Should().Be(WebSocketState.Closed, "the PBX answers the close handshake while a sign-in is pending");
        (await _browser.GetAsync(url, Ct)).StatusCode.Should().Be(HttpStatusCode.NotFound);
        _emulator.System.Attempts.Should().BeEmpty("nobody signed in");
    }

    [Fact]
    public async Task SignInPending_PbxKilled_ResetsTheSocket()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: Ct);
        _emulator.System.SetLoginMethods(pbx, SimulatedLoginMethods.SingleSignOnOnly);
        using var socket = await ConnectAsync(_emulator.GetUri(pbx));
        await SendOAuth2LoginAsync(socket);

        _emulator.System.Kill(pbx);

        await FluentActions.Awaiting(() => ReceiveAsync(socket)).Should().ThrowAsync<WebSocketException>();
    }

    [Fact]
    public async Task OAuth2_UnknownUserSignsIn_GetsLoginFailed()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: Ct);
        _emulator.System.SetLoginMethods(pbx, SimulatedLoginMethods.SingleSignOnOnly);
        _emulator.SignInAs("mallory", automatic: true);
        using var socket = await ConnectAsync(_emulator.GetUri(pbx));

        await SendOAuth2LoginAsync(socket);

        (await ReceiveAsync(socket)).Json.GetProperty("error").GetInt32().Should().Be(SimulatedPbxSystem.LoginFailedError);
    }

    [Fact]
    public async Task OAuth2_AtAPbxWithoutIt_GetsError2_AndNoSignInPage()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: Ct);
        using var socket = await ConnectAsync(_emulator.GetUri(pbx));
        using var keyPair = MyAppsCrypto.NewKeyPair();

        await SendAsync(socket, $$"""{"mt":"Login","type":"user","method":"oauth2","nonce":"0011223344556677","keyShare":"{{MyAppsCrypto.KeyShare(keyPair)}}","userAgent":"raw"}""");

        var (_, result) = await ReceiveAsync(socket);
        result.GetProperty("mt").GetString().Should().Be("LoginResult");
        result.GetProperty("error").GetInt32().Should().Be(SimulatedPbxSystem.LoginMethodDisabledError);
    }

    [Fact]
    public async Task OAuth2_KeyShareNotAPoint_GetsError1()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: Ct);
        _emulator.System.SetLoginMethods(pbx, SimulatedLoginMethods.SingleSignOnOnly);
        using var socket = await ConnectAsync(_emulator.GetUri(pbx));

        await SendAsync(socket, $$"""{"mt":"Login","type":"user","method":"oauth2","nonce":"0011223344556677","keyShare":"{{new string('1', 128)}}","userAgent":"raw"}""");

        (await ReceiveAsync(socket)).Json.GetProperty("error").GetInt32().Should().Be(SimulatedPbxSystem.LoginFailedError);
    }

    [Fact]
    public async Task UserDigestOff_PasswordLogin_GetsAuthenticateThenError2_WhateverThePassword()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: Ct);
        _emulator.System.SetLoginMethods(pbx, SimulatedLoginMethods.SingleSignOnOnly);
        _emulator.System.AddUser(User, "secret", home: pbx);
        using var socket = await ConnectAsync(_emulator.GetUri(pbx));

        await SendAsync(socket, """{"mt":"Login","type":"user","userAgent":"raw"}""");
        var (_, authenticate) = await ReceiveAsync(socket);
        var domain = authenticate.GetProperty("domain").GetString()!;
        var challenge = authenticate.GetProperty("challenge").GetString()!;
        const string Nonce = "0011223344556677";
        var response = MyAppsCrypto.LoginResponse("user", domain, User, "secret", Nonce, challenge);
        await SendAsync(socket, $$"""{"mt":"Login","type":"user","method":"digest","username":"{{User}}","nonce":"{{Nonce}}","response":"{{response}}","userAgent":"raw"}""");

        var (_, result) = await ReceiveAsync(socket);
        result.GetProperty("error").GetInt32().Should().Be(SimulatedPbxSystem.LoginMethodDisabledError);
        _emulator.System.Attempts.Should().ContainSingle().Which.Outcome.Should().Be(SimulatedAttemptOutcome.Rejected);
    }

    [Fact]
    public async Task SessionExpiredAtTheStandbyOnly_Error5There_TheMasterStillAcceptsIt()
    {
        var master = await _emulator.AddMasterAsync(cancellationToken: Ct);
        var standby = await _emulator.AddStandbyAsync(master, cancellationToken: Ct);
        _emulator.System.SetLoginMethods(master, SimulatedLoginMethods.SingleSignOnOnly);
        _emulator.System.AddUser(User, "nobody-knows-it", home: master);
        _emulator.SignInAs(User, automatic: true);
        (string Id, string Password) session;
        using (var socket = await ConnectAsync(_emulator.GetUri(master)))
        {
            var login = await SendOAuth2LoginAsync(socket);
            var info = (await ReceiveAsync(socket)).Json.GetProperty("info");
            session = DecryptSession(info.GetProperty("session"), login.Nonce, MyAppsCrypto.SharedSecret(login.KeyPair, info.GetProperty("keyShare").GetString())!);
        }

        _emulator.System.ExpireSessions(User, standby);
        using var atStandby = await ConnectAsync(_emulator.GetUri(standby));
        using var atMaster = await ConnectAsync(_emulator.GetUri(master));

        (await SessionLoginAsync(atStandby, session)).Json.GetProperty("error").GetInt32().Should().Be(SimulatedPbxSystem.SessionExpiredError);
        (await SessionLoginAsync(atMaster, session)).Json.TryGetProperty("info", out _).Should().BeTrue();
    }

    private static (string Id, string Password) DecryptSession(JsonElement session, string nonce, string secret) => (
        MyAppsCrypto.DecryptSessionPart("usr", nonce, secret, session.GetProperty("usr").GetString()!)!,
        MyAppsCrypto.DecryptSessionPart("pwd", nonce, secret, session.GetProperty("pwd").GetString()!)!);

    /// <summary>A session login by digest; returns the PBX's answer after checking its digest, if it signed one.</summary>
    private static async Task<(string Text, JsonElement Json)> SessionLoginAsync(ClientWebSocket socket, (string Id, string Password) session)
    {
        await SendAsync(socket, """{"mt":"Login","type":"session","userAgent":"raw"}""");
        var (_, authenticate) = await ReceiveAsync(socket);
        var domain = authenticate.GetProperty("domain").GetString()!;
        var challenge = authenticate.GetProperty("challenge").GetString()!;
        const string Nonce = "8899aabbccddeeff";
        var response = MyAppsCrypto.LoginResponse("session", domain, session.Id, session.Password, Nonce, challenge);
        await SendAsync(socket, $$"""{"mt":"Login","type":"session","method":"digest","username":"{{session.Id}}","nonce":"{{Nonce}}","response":"{{response}}","userAgent":"raw"}""");
        var answer = await ReceiveAsync(socket);
        if (answer.Json.TryGetProperty("info", out var info))
        {
            answer.Json.GetProperty("digest").GetString().Should().Be(MyAppsCrypto.LoginResultDigest(
                domain, session.Id, session.Password, Nonce, challenge, Encoding.UTF8.GetBytes(info.GetRawText())));
        }

        return answer;
    }

    /// <summary>LoginInfo, then an oauth2 Login with a fresh key pair; returns the Authenticate and what the answer needs.</summary>
    private async Task<OAuth2Login> SendOAuth2LoginAsync(ClientWebSocket socket)
    {
        var keyPair = MyAppsCrypto.NewKeyPair();
        _disposables.Add(keyPair);
        var nonce = MyAppsCrypto.ToLowerHex(RandomNumberGenerator.GetBytes(8));
        await SendAsync(socket, """{"mt":"LoginInfo"}""");
        (await ReceiveAsync(socket)).Json.GetProperty("user").GetProperty("oauth2").GetBoolean().Should().BeTrue();
        await SendAsync(socket, $$"""{"mt":"Login","type":"user","method":"oauth2","nonce":"{{nonce}}","keyShare":"{{MyAppsCrypto.KeyShare(keyPair)}}","userAgent":"raw"}""");
        var (_, authenticate) = await ReceiveAsync(socket);
        authenticate.GetProperty("mt").GetString().Should().Be("Authenticate");
        return new OAuth2Login(
            authenticate, keyPair, nonce, authenticate.GetProperty("domain").GetString()!, authenticate.GetProperty("challenge").GetString()!);
    }

    private static async Task<ClientWebSocket> ConnectAsync(Uri uri)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(uri, Ct);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, string json) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, Ct);

    /// <summary>The next text frame, as text and parsed; bounded by 5 s so that a missing answer fails instead of hanging.</summary>
    private static async Task<(string Text, JsonElement Json)> ReceiveAsync(ClientWebSocket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        var buffer = new byte[64 * 1024];
        var count = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(count), timeout.Token);
            count += result.Count;
            if (result.EndOfMessage)
            {
                var text = Encoding.UTF8.GetString(buffer, 0, count);
                using var document = JsonDocument.Parse(text);
                return (text, document.RootElement.Clone());
            }
        }
    }

    private sealed record OAuth2Login(JsonElement Authenticate, ECDiffieHellman KeyPair, string Nonce, string Domain, string Challenge);
}
