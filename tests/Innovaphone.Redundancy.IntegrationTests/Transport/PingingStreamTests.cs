using System.Net;
using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Transport;

/// <summary>
/// The PING/PONG keepalive the transport adds under ClientWebSocket on every runtime, driven by the process's shared
/// <see cref="KeepAliveWheel"/>, over a real loopback TCP pair; time is a <see cref="FakeTimeProvider"/> (its own wheel),
/// so PINGs and expiry happen only when a test moves it.
/// </summary>
public sealed class PingingStreamTests : IAsyncLifetime
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan VerifyTimeout = TimeSpan.FromSeconds(1.5);
    private static readonly KeepAliveSettings Settings = new(Interval, Timeout, VerifyTimeout);

    private readonly string _accept = Convert.ToBase64String(Guid.NewGuid().ToByteArray());
    private readonly SleepyClock _time = new();
    private Socket _clientSocket = null!;
    private NetworkStream _peer = null!;
    private PingingStream _stream = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        _clientSocket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await _clientSocket.ConnectAsync((IPEndPoint)listener.LocalEndpoint, Ct);
        _peer = new NetworkStream(await listener.AcceptSocketAsync(Ct), ownsSocket: true);
        _stream = new PingingStream(new NetworkStream(_clientSocket, ownsSocket: true), Settings, KeepAliveWheel.For(_time));
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        await _peer.DisposeAsync();
    }

    [Fact]
    public async Task BeforeTheUpgrade_NoPingIsSent()
    {
        await _stream.WriteAsync("GET / HTTP/1.1\r\n\r\n"u8.ToArray(), Ct);
        _time.Advance(TimeSpan.FromMinutes(1));

        var request = await ReadPeerAsync();
        Encoding.ASCII.GetString(request).Should().Be("GET / HTTP/1.1\r\n\r\n", "nothing may be injected into the HTTP handshake");
        _stream.Expired.Should().BeFalse();
    }

    [Fact]
    public async Task IdleAfterTheUpgrade_SendsAMaskedPing_AndAnAnswerKeepsItAlive()
    {
        await UpgradeAsync();
        _time.Advance(Interval);

        var ping = await ReadPeerAsync();
        ping.Should().HaveCount(6);
        ping[0].Should().Be(0x89, "FIN + PING");
        ping[1].Should().Be(0x80, "masked, no payload");

        // The PONG (or any frame) arrives: the peer is alive, nothing expires however long the idle lasts after it.
        var reading = _stream.ReadAsync(new byte[16], Ct).AsTask();
        await _peer.WriteAsync(new byte[] { 0x8A, 0x00 }, Ct);
        (await reading.WaitAsync(Hang, Ct)).Should().Be(2);
        _time.Advance(Timeout);
        _stream.Expired.Should().BeFalse();
        _time.Advance(Interval);
        (await ReadPeerAsync())[0].Should().Be(0x89, "the next idle interval sends the next PING");
    }

    [Fact]
    public async Task NoAnswerWithinTheTimeout_Expires_AndThePendingReadFailsWithATimeout()
    {
        await UpgradeAsync();
        var reading = _stream.ReadAsync(new byte[16], Ct).AsTask();
        _time.Advance(Interval);
        await ReadPeerAsync();

        _time.Advance(Timeout - TimeSpan.FromMilliseconds(1));
        _stream.Expired.Should().BeFalse();
        _time.Advance(TimeSpan.FromMilliseconds(1));

        _stream.Expired.Should().BeTrue();
        var failure = await reading.Invoking(r => r.WaitAsync(Hang, Ct)).Should().ThrowAsync<IOException>();
        failure.Which.InnerException.Should().BeOfType<KeepAliveTimeoutException>().Which.Limit.Should().Be(Timeout);
    }

    [Fact]
    public async Task Traffic_PostponesThePing()
    {
        await UpgradeAsync();
        _time.Advance(Interval - TimeSpan.FromSeconds(1));
        var reading = _stream.ReadAsync(new byte[16], Ct).AsTask();
        await _peer.WriteAsync(new byte[] { 0x81, 0x00 }, Ct);
        await reading.WaitAsync(Hang, Ct);

        // The interval counts from the last byte received: no PING one second later.
        _time.Advance(TimeSpan.FromSeconds(1));
        _peer.DataAvailable.Should().BeFalse();
        _time.Advance(Interval);
        (await ReadPeerAsync())[0].Should().Be(0x89);
    }

    [Fact]
    public async Task Upgrade_JoinsTheWheel_AndTheAcceptHeaderClaimsTheStreamOnce()
    {
        await UpgradeAsync();

        KeepAliveWheel.For(_time).Count.Should().Be(1);
        PingingStream.Claim(_accept).Should().BeSameAs(_stream);
        PingingStream.Claim(_accept).Should().BeNull("a stream is claimed once");
        await _stream.DisposeAsync();
        KeepAliveWheel.For(_time).Count.Should().Be(0, "an ended connection leaves the wheel");
        KeepAliveWheel.For(_time).Held.Should().Be(1, "ending takes no lock: the next tick sweeps the stream out");

        _time.Advance(Settings.Resolution);

        KeepAliveWheel.For(_time).Held.Should().Be(0, "the tick swept the ended stream out of the set");
    }

    [Fact]
    public async Task AnswerOtherThan101_NoPing_TheConnectionStaysHttp()
    {
        var reading = _stream.ReadAsync(new byte[256], Ct).AsTask();
        await _peer.WriteAsync("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), Ct);
        await reading.WaitAsync(Hang, Ct);

        _time.Advance(TimeSpan.FromMinutes(1));

        _peer.DataAvailable.Should().BeFalse("a PING frame inside HTTP would corrupt it");
        KeepAliveWheel.For(_time).Count.Should().Be(0);
    }

    [Fact]
    public async Task Verify_SendsAPingAtOnce_AndNoAnswerWithinTheVerifyTimeout_Expires()
    {
        await UpgradeAsync();
        var reading = _stream.ReadAsync(new byte[16], Ct).AsTask();

        _stream.Verify();
        (await ReadPeerAsync())[0].Should().Be(0x89, "the PING goes out at once, not at the next tick");
        _time.Advance(VerifyTimeout - TimeSpan.FromMilliseconds(1));
        _stream.Expired.Should().BeFalse();
        _time.Advance(TimeSpan.FromMilliseconds(1));

        _stream.Expired.Should().BeTrue("the wheel's timer is armed for the verify deadline itself");
        var failure = await reading.Invoking(r => r.WaitAsync(Hang, Ct)).Should().ThrowAsync<IOException>();
        failure.Which.InnerException.Should().BeOfType<KeepAliveTimeoutException>().Which.Limit.Should().Be(VerifyTimeout);
    }

    [Fact]
    public async Task Verify_Answered_KeepsItAlive_AndASecondVerifyMeanwhileSendsNoSecondPing()
    {
        await UpgradeAsync();
        _stream.Verify();
        _stream.Verify();
        (await ReadPeerAsync()).Should().HaveCount(6, "one PING for both requests");

        var reading = _stream.ReadAsync(new byte[16], Ct).AsTask();
        await _peer.WriteAsync(new byte[] { 0x8A, 0x00 }, Ct);
        await reading.WaitAsync(Hang, Ct);
        _time.Advance(VerifyTimeout);

        _stream.Expired.Should().BeFalse();
    }

    [Fact]
    public async Task SleepSeenAsALateTimer_VerifiesInsteadOfJudgingByTheTimeAsleep()
    {
        await UpgradeAsync();
        var reading = _stream.ReadAsync(new byte[16], Ct).AsTask();

        // The machine sleeps for a minute; the monotonic clock kept counting (Windows), so the wheel's tick comes late.
        _time.Advance(TimeSpan.FromMinutes(1));

        _stream.Expired.Should().BeFalse("an interval and a timeout have passed, but asleep");
        (await ReadPeerAsync())[0].Should().Be(0x89, "a verify PING instead");
        _time.Advance(VerifyTimeout);
        _stream.Expired.Should().BeTrue("no answer within the verify deadline");
        await reading.Invoking(r => r.WaitAsync(Hang, Ct)).Should().ThrowAsync<IOException>();
    }

    [Fact]
    public async Task SleepSeenAsAWallClockJump_Verifies()
    {
        await UpgradeAsync();

        // The monotonic clock stopped during the sleep (Linux): the tick is on time, but the wall clock moved an hour.
        _time.Sleep(TimeSpan.FromHours(1));
        _time.Advance(TimeSpan.FromSeconds(1));

        (await ReadPeerAsync())[0].Should().Be(0x89);
        _time.Advance(VerifyTimeout);
        _stream.Expired.Should().BeTrue();
    }

    [Fact]
    public async Task ManyConnections_ShareOneTimer()
    {
        await UpgradeAsync();
        var others = new List<(PingingStream Stream, Socket Peer)>();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        for (var i = 0; i < 3; i++)
        {
            var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint, Ct);
            var peer = await listener.AcceptSocketAsync(Ct);
            var stream = new PingingStream(new NetworkStream(client, ownsSocket: true), Settings, KeepAliveWheel.For(_time));
            var reading = stream.ReadAsync(new byte[256], Ct).AsTask();
            await peer.SendAsync(UpgradeResponse, Ct);
            await reading.WaitAsync(Hang, Ct);
            others.Add((stream, peer));
        }

        _time.Advance(Interval + Timeout);

        KeepAliveWheel.For(_time).Count.Should().Be(4);
        _time.TimersCreated.Should().Be(1, "no connection has a timer of its own");
        foreach (var (stream, peer) in others)
        {
            await stream.DisposeAsync();
            peer.Dispose();
        }
    }

    private async Task UpgradeAsync()
    {
        var reading = _stream.ReadAsync(new byte[256], Ct).AsTask();
        var response = UpgradeResponse;
        await _peer.WriteAsync(response, Ct);
        (await reading.WaitAsync(Hang, Ct)).Should().Be(response.Length);
    }

    private byte[] UpgradeResponse => Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {_accept}\r\n\r\n");

    private async Task<byte[]> ReadPeerAsync()
    {
        var buffer = new byte[256];
        var count = await _peer.ReadAsync(buffer, Ct).AsTask().WaitAsync(Hang, Ct);
        return buffer[..count];
    }

    /// <summary>A fake clock that counts its timers, and whose wall clock can jump without its monotonic clock (a sleep on Linux).</summary>
    private sealed class SleepyClock : FakeTimeProvider
    {
        private TimeSpan _asleep;
        private int _timers;

        public int TimersCreated => Volatile.Read(ref _timers);

        public void Sleep(TimeSpan span) => _asleep += span;

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + _asleep;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref _timers);
            return base.CreateTimer(callback, state, dueTime, period);
        }
    }
}
