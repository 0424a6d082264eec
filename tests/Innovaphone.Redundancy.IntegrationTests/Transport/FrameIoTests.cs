using System.Net.WebSockets;
using FluentAssertions;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Transport;

/// <summary>
/// Message assembly in <c>FrameIo.ReceiveAsync</c> over a real WebSocket pair on loopback TCP: the first read of a
/// message is small (what an idle connection holds) and longer messages continue in chunks, so every size around
/// those boundaries and the limit must come out whole, or as too large, and never as a wrong message.
/// </summary>
public sealed class FrameIoTests : IAsyncLifetime
{
    private const int Limit = 16 * 1024;
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(20);

    private LoopbackWebSocketPair _pair = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private WebSocket Client => _pair.Client;

    private WebSocket Pbx => _pair.Pbx;

    public async ValueTask InitializeAsync() => _pair = await LoopbackWebSocketPair.OpenAsync(Ct);

    public ValueTask DisposeAsync()
    {
        _pair.Dispose();
        return ValueTask.CompletedTask;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(511)]
    [InlineData(512)]
    [InlineData(513)]
    [InlineData(4096)]
    [InlineData(4608)]
    [InlineData(4609)]
    [InlineData(12_345)]
    [InlineData(Limit)]
    public async Task Text_OfAnySizeUpToTheLimit_ArrivesWhole(int size)
    {
        var message = Message(size, seed: size);
        await Pbx.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, Ct);

        var frame = await FrameIo.ReceiveAsync(Client, Limit, Ct).AsTask().WaitAsync(Hang, Ct);

        frame.Kind.Should().Be(ReceivedFrameKind.Text);
        frame.Data.ToArray().Should().Equal(message);
    }

    [Theory]
    [InlineData(Limit + 1)]
    [InlineData(Limit + 5000)]
    public async Task Text_OverTheLimit_IsTooLarge(int size)
    {
        var send = Pbx.SendAsync(Message(size, seed: 3), WebSocketMessageType.Text, endOfMessage: true, Ct);

        var frame = await FrameIo.ReceiveAsync(Client, Limit, Ct).AsTask().WaitAsync(Hang, Ct);

        frame.Kind.Should().Be(ReceivedFrameKind.TooLarge);
        frame.Data.Length.Should().Be(0);

        // The rest of the message is never read (the connection ends on a too large frame); let the sender go.
        Client.Abort();
        await send.ContinueWith(_ => { }, Ct, TaskContinuationOptions.None, TaskScheduler.Default).WaitAsync(Hang, Ct);
    }

    [Fact]
    public async Task Text_SentInFragments_ArrivesAsOneMessage_AndTheNextStaysSeparate()
    {
        var first = Message(7000, seed: 1);
        var second = Message(300, seed: 2);
        foreach (var (start, length) in new[] { (0, 100), (100, 2000), (2100, 0), (2100, 4900) })
        {
            await Pbx.SendAsync(first.AsMemory(start, length), WebSocketMessageType.Text, endOfMessage: start + length == first.Length, Ct);
        }

        await Pbx.SendAsync(second, WebSocketMessageType.Text, endOfMessage: true, Ct);

        var a = await FrameIo.ReceiveAsync(Client, Limit, Ct).AsTask().WaitAsync(Hang, Ct);
        var b = await FrameIo.ReceiveAsync(Client, Limit, Ct).AsTask().WaitAsync(Hang, Ct);

        a.Data.ToArray().Should().Equal(first);
        b.Data.ToArray().Should().Equal(second);
    }

    [Fact]
    public async Task Binary_AndClose_AreReportedAsSuch()
    {
        await Pbx.SendAsync(Message(2000, seed: 4), WebSocketMessageType.Binary, endOfMessage: true, Ct);
        var binary = await FrameIo.ReceiveAsync(Client, Limit, Ct).AsTask().WaitAsync(Hang, Ct);
        binary.Kind.Should().Be(ReceivedFrameKind.Binary);

        // A fresh pair for the close: the binary message's rest is still unread on this one.
        _pair.Dispose();
        await InitializeAsync();
        var close = Pbx.CloseOutputAsync(WebSocketCloseStatus.EndpointUnavailable, "going away", Ct);
        var closed = await FrameIo.ReceiveAsync(Client, Limit, Ct).AsTask().WaitAsync(Hang, Ct);
        await close.WaitAsync(Hang, Ct);

        closed.Kind.Should().Be(ReceivedFrameKind.Closed);
        closed.CloseDescription.Should().Be("EndpointUnavailable, going away");
    }

    private static byte[] Message(int size, int seed)
    {
        // Printable ASCII, different for every size, so that a misplaced chunk shows.
        var random = new Random(seed);
        var bytes = new byte[size];
        for (var i = 0; i < size; i++)
        {
            bytes[i] = (byte)random.Next(0x21, 0x7f);
        }

        return bytes;
    }
}
