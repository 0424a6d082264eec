using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Integration;

/// <summary>
/// The emulator's server side with a raw <see cref="ClientWebSocket"/> and the digest formulas written out here
/// (independently of the library's MyAppsCrypto), so that emulator and transport cannot share a mistake.
/// </summary>
[Trait("Category", "Integration")]
public sealed class PbxEmulatorTests : IAsyncLifetime
{
    private const string User = "bob";
    private const string Password = "pw-of-bob";
    private readonly PbxEmulator _emulator = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        RunSecrets.AddSecrets([Password, .. _emulator.SecretsSeen]);
        return _emulator.DisposeAsync();
    }

    [Fact]
    public void DigestFormula_MatchesAPinnedVector()
    {
        // printf '%s' 'innovaphoneAppClient:user:emulated.example.com:bob:pw-of-bob:0123456789abcdef:c0ffee' | sha256sum
        Sha256Hex("innovaphoneAppClient:user:emulated.example.com:bob:pw-of-bob:0123456789abcdef:c0ffee")
            .Should().Be("fc16e468030f73ef666b679831beca46af3c2d2ee3b4f62d08c4ad813d297a33");
    }

    [Fact]
    public async Task LoginInfo_AndAFullDigestLogin_ByHand()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        var standby = await _emulator.AddStandbyAsync(pbx, cancellationToken: TestContext.Current.CancellationToken);
        _emulator.System.AddUser(User, Password, pbx);
        using var socket = await ConnectAsync(pbx);

        await SendAsync(socket, """{"mt":"LoginInfo"}""");
        using (var info = await ReceiveAsync(socket))
        {
            info.RootElement.GetProperty("mt").GetString().Should().Be("LoginInfoResult");
            info.RootElement.GetProperty("user").GetProperty("digest").GetBoolean().Should().BeTrue();
        }

        await SendAsync(socket, """{"mt":"Login","type":"user","userAgent":"raw"}""");
        using var authenticate = await ReceiveAsync(socket);
        var domain = authenticate.RootElement.GetProperty("domain").GetString()!;
        var challenge = authenticate.RootElement.GetProperty("challenge").GetString()!;
        authenticate.RootElement.GetProperty("method").GetString().Should().Be("digest");
        const string Nonce = "0011223344556677";
        var response = Sha256Hex($"innovaphoneAppClient:user:{domain}:{User}:{Password}:{Nonce}:{challenge}");
        await SendAsync(socket, $$"""{"mt":"Login","type":"user","method":"digest","username":"{{User}}","nonce":"{{Nonce}}","response":"{{response}}","userAgent":"raw"}""");

        var (text, result) = await ReceiveTextAsync(socket);
        using (result)
        {
            result.RootElement.GetProperty("mt").GetString().Should().Be("LoginResult");
            var rawInfo = result.RootElement.GetProperty("info").GetRawText();
            text.Should().Contain(rawInfo, "the info is embedded exactly as signed");
            result.RootElement.GetProperty("digest").GetString().Should().Be(
                Sha256Hex($"innovaphoneAppClient:loginresult:{domain}:{User}:{Password}:{Nonce}:{challenge}:{rawInfo}"));
            var infoObject = result.RootElement.GetProperty("info");
            infoObject.GetProperty("user").GetProperty("sip").GetString().Should().Be(User, "every LoginResult names the user");
            challenge.Should().MatchRegex("^[0-9a-f]{16}$");
            infoObject.GetProperty("alt").GetString().Should().Be(standby.Address.ToString());
            infoObject.GetProperty("standby").GetBoolean().Should().BeFalse();
            var sessionId = Rc4Decrypt($"innovaphoneAppClient:usr:{Nonce}:{Password}", infoObject.GetProperty("session").GetProperty("usr").GetString()!);
            sessionId.Should().MatchRegex("^[0-9A-F]{16}$", "the simulator's session ids are 8 random bytes in hex");
        }

        _emulator.System.LiveConnectionCount.Should().Be(1);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", TestContext.Current.CancellationToken);

        // The emulator releases the login before it answers the close.
        _emulator.System.LiveConnectionCount.Should().Be(0);
    }

    [Fact]
    public async Task WrongDigest_GetsLoginResultError1()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        _emulator.System.AddUser(User, Password, pbx);
        using var socket = await ConnectAsync(pbx);

        await SendAsync(socket, """{"mt":"Login","type":"user"}""");
        (await ReceiveAsync(socket)).Dispose();
        await SendAsync(socket, """{"mt":"Login","type":"user","method":"digest","username":"bob","nonce":"0011223344556677","response":"00"}""");
        using var result = await ReceiveAsync(socket);

        result.RootElement.GetProperty("mt").GetString().Should().Be("LoginResult");
        result.RootElement.GetProperty("error").GetInt32().Should().Be(SimulatedPbxSystem.LoginFailedError);
    }

    [Theory]
    [InlineData("""{"mt":"Login","type":"user\ud800"}""")]
    [InlineData("""{"mt":"Login","type":"user","x\udc00":1}""")]
    [InlineData("""{"mt\ud800":"Login"}""")]
    public async Task ClientFrameWithUndecodableText_IsClosedAsInvalidPayload_AndThePbxServesOn(string frame)
    {
        // Well-formed JSON whose text throws when read (an escaped lone surrogate): dropped like malformed JSON, not
        // an exception out of the emulated socket.
        var pbx = await _emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        _emulator.System.AddUser(User, Password, pbx);
        using var socket = await ConnectAsync(pbx);

        await SendAsync(socket, frame);
        var close = await socket.ReceiveAsync(new byte[256], TestContext.Current.CancellationToken)
            .WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        close.MessageType.Should().Be(WebSocketMessageType.Close);
        socket.CloseStatus.Should().Be(WebSocketCloseStatus.InvalidPayloadData);
        socket.CloseStatusDescription.Should().Be("undecodable text");
        using var next = await ConnectAsync(pbx);
        using var answer = await LogInByHandAsync(next);
        answer.RootElement.GetProperty("mt").GetString().Should().Be("LoginResult");
    }

    [Fact]
    public async Task WrongPath_IsNotAWebSocketEndpoint()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        var uri = new Uri(_emulator.GetUri(pbx).ToString().Replace("/PBX0/", "/PBX1/", StringComparison.Ordinal));
        using var socket = new ClientWebSocket();

        var connect = () => socket.ConnectAsync(uri, TestContext.Current.CancellationToken);

        await connect.Should().ThrowAsync<WebSocketException>();
    }

    [Fact]
    public async Task FaultApi_RejectsForeignPbxesAndUndefinedFaults()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        var foreign = _emulator.System.AddMaster("elsewhere.example.com");

        FluentActions.Invoking(() => _emulator.SetFault(foreign, EmulatedFault.ForgedDigest)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => _emulator.SetFault(pbx, (EmulatedFault)99)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => _emulator.ForceRedirect(pbx, foreign)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => new PbxEmulator(options: new PbxEmulatorOptions { Domain = " " })).Should().Throw<ArgumentException>();
    }

    [Fact]
    public async Task Linger_KeepsTcpOpenAfterTheCloseThatFollowsARedirect()
    {
        var master = await _emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        var other = await _emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        _emulator.System.AddUser(User, Password, master);
        _emulator.ForceRedirect(master, other);

        // Long enough to outlast the client's own 1 s wait by far; the emulator's disposal ends it.
        _emulator.SetLinger(master, TimeSpan.FromSeconds(60));
        using var socket = await ConnectAsync(master);
        using (var answer = await LogInByHandAsync(socket))
        {
            answer.RootElement.GetProperty("mt").GetString().Should().Be("Redirect");
        }

        var closing = Stopwatch.StartNew();
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "following the redirect", TestContext.Current.CancellationToken);
        closing.Stop();

        // The handshake is done (the client's CloseAsync returned) and the client has given up waiting for the PBX to
        // close TCP, but the PBX still holds the connection.
        socket.State.Should().Be(WebSocketState.Closed);
        _emulator.OpenSocketCount.Should().Be(1, "a lingering PBX keeps TCP open after the close handshake");

        // ClientWebSocket waits up to 1 s for the server's FIN: a lower bound, which load can only lengthen.
        closing.Elapsed.Should().BeGreaterThan(TimeSpan.FromMilliseconds(900));
    }

    [Fact]
    public async Task Linger_AppliesToACloseThePbxStarts_AndEnds()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        _emulator.System.AddUser(User, Password, pbx);
        _emulator.SetLinger(pbx, TimeSpan.FromSeconds(2));
        using var socket = await ConnectAsync(pbx);
        (await LogInByHandAsync(socket)).Dispose();

        var closed = _emulator.CloseConnectionsAsync(pbx);
        var frame = await socket.ReceiveAsync(new byte[256], TestContext.Current.CancellationToken);
        frame.MessageType.Should().Be(WebSocketMessageType.Close);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", TestContext.Current.CancellationToken);
        await closed.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        // CloseConnectionsAsync completed with the handshake; the TCP connection outlives it by the linger.
        _emulator.OpenSocketCount.Should().Be(1);
        await UntilAsync(() => _emulator.OpenSocketCount == 0, TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task NoLinger_ClosesTcpRightAfterTheHandshake()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        _emulator.System.AddUser(User, Password, pbx);
        using var socket = await ConnectAsync(pbx);
        (await LogInByHandAsync(socket)).Dispose();

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", TestContext.Current.CancellationToken);

        await UntilAsync(() => _emulator.OpenSocketCount == 0, TimeSpan.FromSeconds(10));
        FluentActions.Invoking(() => _emulator.SetLinger(pbx, TimeSpan.FromSeconds(-1))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task BlackHole_NewConnectsNeverComplete_LiveSocketsGoSilent_UntilItEnds()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var live = await ConnectAsync(pbx);
        var port = _emulator.GetUri(pbx).Port;

        _emulator.SetBlackHole(pbx, true);

        await SendAsync(live, """{"mt":"LoginInfo"}""");
        var answer = ReceiveAsync(live);
        using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var connect = tcp.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), TestContext.Current.CancellationToken).AsTask();

        // Past the kernel's first SYN retransmission (1 s): that one is dropped too. A bounded wait, not a sleep.
        var first = await Task.WhenAny(connect, answer, Task.Delay(TimeSpan.FromSeconds(1.5), TestContext.Current.CancellationToken));
        first.Should().NotBe(connect, "the SYN of a black-holed PBX gets no answer");
        first.Should().NotBe(answer, "a live socket of a black-holed PBX answers nothing");

        _emulator.SetBlackHole(pbx, false);

        // The held-back frame is answered, and the pending connect completes at its next SYN retransmission (3 s).
        using (var info = await answer.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken))
        {
            info.RootElement.GetProperty("mt").GetString().Should().Be("LoginInfoResult");
        }

        await connect.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        using var after = await ConnectAsync(pbx);
        after.State.Should().Be(WebSocketState.Open);
    }

    private static async Task UntilAsync(Func<bool> condition, TimeSpan bound)
    {
        // Polls a server-side count that has no event to await (as FaultMatrixTests does), bounded by the timeout.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(bound);
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        while (!condition())
        {
            await tick.WaitForNextTickAsync(timeout.Token);
        }
    }

    /// <summary>A full user login by hand; returns the PBX's answer to the digest Login.</summary>
    private static async Task<JsonDocument> LogInByHandAsync(ClientWebSocket socket)
    {
        await SendAsync(socket, """{"mt":"Login","type":"user","userAgent":"raw"}""");
        using var authenticate = await ReceiveAsync(socket);
        var domain = authenticate.RootElement.GetProperty("domain").GetString()!;
        var challenge = authenticate.RootElement.GetProperty("challenge").GetString()!;
        const string Nonce = "8899aabbccddeeff";
        var response = Sha256Hex($"innovaphoneAppClient:user:{domain}:{User}:{Password}:{Nonce}:{challenge}");
        await SendAsync(socket, $$"""{"mt":"Login","type":"user","method":"digest","username":"{{User}}","nonce":"{{Nonce}}","response":"{{response}}","userAgent":"raw"}""");
        return await ReceiveAsync(socket);
    }

    private static string Sha256Hex(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();

    private static string Rc4Decrypt(string key, string hex)
    {
        var k = Encoding.UTF8.GetBytes(key);
        var data = Convert.FromHexString(hex);
        var s = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        for (int i = 0, j = 0; i < 256; i++)
        {
            j = (j + s[i] + k[i % k.Length]) & 0xff;
            (s[i], s[j]) = (s[j], s[i]);
        }

        for (int n = 0, i = 0, j = 0; n < data.Length; n++)
        {
            i = (i + 1) & 0xff;
            j = (j + s[i]) & 0xff;
            (s[i], s[j]) = (s[j], s[i]);
            data[n] ^= s[(s[i] + s[j]) & 0xff];
        }

        return Encoding.UTF8.GetString(data);
    }

    private async Task<ClientWebSocket> ConnectAsync(SimulatedPbx pbx)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(_emulator.GetUri(pbx), TestContext.Current.CancellationToken);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, string json) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, TestContext.Current.CancellationToken);

    private static async Task<JsonDocument> ReceiveAsync(ClientWebSocket socket) => (await ReceiveTextAsync(socket)).Document;

    private static async Task<(string Text, JsonDocument Document)> ReceiveTextAsync(ClientWebSocket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
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
                return (text, JsonDocument.Parse(text));
            }
        }
    }
}
