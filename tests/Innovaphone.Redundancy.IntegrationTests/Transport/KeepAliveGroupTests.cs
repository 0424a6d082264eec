using System.Net;
using System.Net.Sockets;
using System.Text;
using FluentAssertions;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Transport;

/// <summary>
/// Connections of one process to the same PBX endpoint share one liveness probe (<see cref="KeepAliveWheel"/>): two PINGs
/// per interval for the group instead of one per connection; a silent PBX still ends every connection within interval +
/// timeout, a dead probe connection ends alone, and each connection still checks itself after its own longer interval.
/// Real loopback TCP pairs; time is a <see cref="FakeTimeProvider"/> (its own wheel), moved by the tests.
/// </summary>
public sealed class KeepAliveGroupTests : IAsyncLifetime
{
    private const string Pbx = "http://pbx.example.com/PBX0/APPCLIENT/";
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(4);
    private static readonly KeepAliveSettings Settings = new(Interval, Timeout, TimeSpan.FromSeconds(1.5));
    private static readonly byte[] Pong = [0x8A, 0x00];

    private readonly FakeTimeProvider _time = new();
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<Connection> _connections = [];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _listener.Start();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            await connection.Stream.DisposeAsync();
            connection.Peer.Dispose();
        }

        _listener.Dispose();
    }

    [Fact]
    public async Task OneGroup_TwoPingsPerInterval_AndAnAnswerKeepsEveryConnection()
    {
        await ConnectAsync(Pbx, 6);

        _time.Advance(Interval);

        var probed = await PingedAsync(KeepAliveWheel.ProbesPerGroup);
        await probed[0].AnswerAsync();
        await probed[1].AnswerAsync();
        Step(Interval - TimeSpan.FromMilliseconds(1));

        _connections.Should().OnlyContain(c => !c.Stream.Expired, "the PBX answered the group's probe; the others were not asked");
        _connections.Should().OnlyContain(c => c.Peer.Available == 0, "the next probe is due an interval after the answer");
        _time.Advance(Settings.Resolution);
        await PingedAsync(KeepAliveWheel.ProbesPerGroup);
    }

    [Fact]
    public async Task ProbesUnanswered_AndTheGroupSilent_EveryConnectionEnds_WithinIntervalPlusTimeout()
    {
        await ConnectAsync(Pbx, 5);
        var reads = _connections.Select(c => c.Stream.ReadAsync(new byte[16], Ct).AsTask()).ToList();

        _time.Advance(Interval);
        await PingedAsync(KeepAliveWheel.ProbesPerGroup);
        Step(Timeout - TimeSpan.FromMilliseconds(1));
        _connections.Should().OnlyContain(c => !c.Stream.Expired);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        _connections.Should().OnlyContain(c => c.Stream.Expired, "the frozen PBX answered no probe and sent nothing on any connection");
        foreach (var read in reads)
        {
            var failure = await read.Invoking(r => r.WaitAsync(Hang, Ct)).Should().ThrowAsync<IOException>();
            failure.Which.InnerException.Should().BeOfType<KeepAliveTimeoutException>().Which.Limit.Should().Be(Timeout);
        }
    }

    [Fact]
    public async Task OneProbeUnanswered_WhileThePbxAnswersTheOther_OnlyThatConnectionEnds()
    {
        await ConnectAsync(Pbx, 4);

        _time.Advance(Interval);
        var probed = await PingedAsync(KeepAliveWheel.ProbesPerGroup);
        await probed[1].AnswerAsync();
        Step(Timeout);

        probed[0].Stream.Expired.Should().BeTrue("its own PING went unanswered");
        _connections.Where(c => c != probed[0]).Should().OnlyContain(c => !c.Stream.Expired, "the PBX is alive");
    }

    [Fact]
    public async Task TrafficOnAnyConnection_ProvesThePbx_NoConnectionEnds()
    {
        await ConnectAsync(Pbx, 4);

        _time.Advance(Interval);
        var probed = await PingedAsync(KeepAliveWheel.ProbesPerGroup);
        var other = _connections.First(c => !probed.Contains(c));
        await other.AnswerAsync([0x81, 0x00]);
        Step(Timeout);

        _connections.Where(c => !probed.Contains(c)).Should().OnlyContain(c => !c.Stream.Expired, "the PBX sent something on one of them");
        probed.Should().OnlyContain(c => c.Stream.Expired, "a PING left unanswered still ends its own connection, as a lone one's does");
    }

    [Fact]
    public async Task EachConnection_StillPingsOnItsOwn_AfterTheConnectionInterval()
    {
        await ConnectAsync(Pbx, 4);
        var others = new List<Connection>();
        for (var elapsed = TimeSpan.Zero; elapsed < Settings.ConnectionInterval - Interval; elapsed += Interval)
        {
            _time.Advance(Interval);
            var probed = await PingedAsync(KeepAliveWheel.ProbesPerGroup);
            foreach (var connection in probed)
            {
                await connection.AnswerAsync();
            }

            others = [.. _connections.Except(probed)];
        }

        others.Should().OnlyContain(c => c.Peer.Available == 0);
        Step(Interval);

        others.Should().NotBeEmpty();
        foreach (var connection in others)
        {
            (await connection.ReadPingAsync()).Should().Be(0x89, "a connection the probes never picked checks itself after {0}", Settings.ConnectionInterval);
        }
    }

    [Fact]
    public async Task OtherEndpoints_AreGroupsOfTheirOwn()
    {
        await ConnectAsync(Pbx, 3);
        await ConnectAsync("http://standby.example.com/PBX0/APPCLIENT/", 3);
        await ConnectAsync(peer: null, 1);

        _time.Advance(Interval);

        await PingedAsync((2 * KeepAliveWheel.ProbesPerGroup) + 1);
    }

    /// <summary>Moves the clock in steps of at most a second (a jump of more than 10 s would read as a resume from sleep).</summary>
    private void Step(TimeSpan span)
    {
        for (var left = span; left > TimeSpan.Zero; left -= TimeSpan.FromSeconds(1))
        {
            _time.Advance(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
        }
    }

    private async Task ConnectAsync(string? peer, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync((IPEndPoint)_listener.LocalEndpoint, Ct);
            var server = await _listener.AcceptSocketAsync(Ct);
            var stream = new PingingStream(new NetworkStream(client, ownsSocket: true), Settings, KeepAliveWheel.For(_time), peer);
            var reading = stream.ReadAsync(new byte[256], Ct).AsTask();
            await server.SendAsync(Encoding.ASCII.GetBytes(
                $"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {Guid.NewGuid():N}\r\n\r\n"), Ct);
            await reading.WaitAsync(Hang, Ct);
            _connections.Add(new Connection(stream, server));
        }
    }

    /// <summary>
    /// The connections whose peer got a PING, once <paramref name="count"/> of them did; the wheel sends a tick's PINGs in
    /// one go, so the others have none by then.
    /// </summary>
    private async Task<List<Connection>> PingedAsync(int count)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var pending = _connections.Select(c => (Peek: c.Peer.ReceiveAsync(new byte[6], SocketFlags.Peek, stop.Token).AsTask(), Connection: c)).ToList();
        var pinged = new List<Connection>();
        while (pinged.Count < count)
        {
            var done = await Task.WhenAny(pending.Select(p => p.Peek)).WaitAsync(Hang, Ct);
            var index = pending.FindIndex(p => p.Peek == done);
            pinged.Add(pending[index].Connection);
            pending.RemoveAt(index);
        }

        await stop.CancelAsync();
        foreach (var connection in pinged)
        {
            (await connection.ReadPingAsync()).Should().Be(0x89);
        }

        _connections.Except(pinged).Should().OnlyContain(c => c.Peer.Available == 0, "exactly {0} connections were PINGed", count);
        return pinged;
    }

    private sealed record Connection(PingingStream Stream, Socket Peer)
    {
        public async Task<byte> ReadPingAsync()
        {
            var frame = new byte[6];
            var read = 0;
            while (read < frame.Length)
            {
                read += await Peer.ReceiveAsync(frame.AsMemory(read), SocketFlags.None).AsTask().WaitAsync(Hang);
            }

            return frame[0];
        }

        /// <summary>The peer answers (a PONG unless told otherwise) and the connection has read it.</summary>
        public async Task AnswerAsync(byte[]? frame = null)
        {
            var reading = Stream.ReadAsync(new byte[16]).AsTask();
            await Peer.SendAsync(frame ?? Pong);
            await reading.WaitAsync(Hang);
        }
    }
}
