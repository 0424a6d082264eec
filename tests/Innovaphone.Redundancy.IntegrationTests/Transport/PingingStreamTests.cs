using System.Net;
using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Transport;

/// <summary>
/// The PING/PONG keepalive the transport adds under .NET 8's ClientWebSocket (which cannot PING), over a real loopback
/// TCP pair; time is a <see cref="FakeTimeProvider"/>, so PINGs and expiry happen only when a test moves it.
/// </summary>
public sealed class PingingStreamTests : IAsyncLifetime
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);
    private static readonly byte[] UpgradeResponse = Encoding.ASCII.GetBytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");

    private readonly FakeTimeProvider _time = new();
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
        _stream = new PingingStream(new NetworkStream(_clientSocket, ownsSocket: true), Interval, Timeout, _time);
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
        failure.Which.InnerException.Should().BeOfType<TimeoutException>();
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

    private async Task UpgradeAsync()
    {
        var reading = _stream.ReadAsync(new byte[256], Ct).AsTask();
        await _peer.WriteAsync(UpgradeResponse, Ct);
        (await reading.WaitAsync(Hang, Ct)).Should().Be(UpgradeResponse.Length);
    }

    private async Task<byte[]> ReadPeerAsync()
    {
        var buffer = new byte[256];
        var count = await _peer.ReadAsync(buffer, Ct).AsTask().WaitAsync(Hang, Ct);
        return buffer[..count];
    }
}
