using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>
/// WebSocket PING/PONG liveness, on every runtime, driven by the process's <see cref="KeepAliveWheel"/> instead of a timer
/// of its own. Sits in the plaintext stream under the WebSocket (SocketsHttpHandler's PlaintextStreamFilter: above TLS,
/// below HTTP). Once an HTTP 101 upgrade response has passed, it joins the wheel, which sends a masked PING frame through
/// it when its group's probe picks it (nothing received from the PBX on any connection of the group for the interval),
/// when it received nothing itself for <see cref="KeepAliveSettings.ConnectionInterval"/>, or at once to verify the
/// connection; it ends the stream when nothing at all arrives within the deadline after a PING, or when the group's
/// probe went unanswered and nothing arrived here either. Any received byte (the PONG, or a message) proves the peer
/// alive.
/// </summary>
/// <remarks>
/// <para>Why not ClientWebSocket's own keepalive: .NET 8's cannot PING (it sends unsolicited PONGs, which no peer
/// answers), .NET 9+'s runs a heartbeat timer per socket (the CPU cost of thousands of idle connections), and neither can
/// PING on demand, which verifying a connection after a network change needs.</para>
/// <para>A PING is written between the WebSocket's own frames, never inside one: the WebSocket writes each frame with one
/// write call, and writes are serialised here. After an expiry reads fail with an <see cref="IOException"/> whose inner
/// exception is a <see cref="KeepAliveTimeoutException"/>, which the connection reports as a keepalive loss.</para>
/// <para>The upgrade response's <c>Sec-WebSocket-Accept</c> (unique per handshake) names the stream until the transport
/// claims it (<see cref="Claim"/>): a shared handler's connection pool may hand a new connection to another request than
/// the one that opened it, so the request cannot carry the stream back.</para>
/// </remarks>
internal sealed class PingingStream : Stream
{
    private const int MaxHeaderBytes = 16 * 1024;
    private static readonly ConcurrentDictionary<string, PingingStream> Unclaimed = new(StringComparer.Ordinal);

    private readonly Stream _inner;
    private readonly KeepAliveWheel _wheel;
    private readonly long _connectionInterval;
    private readonly long _timeout;
    private readonly long _verifyTimeout;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly object _gate = new();
    private long _lastRead;
    private int _reads;
    private byte[]? _header;
    private int _headerLength;
    private string? _accept;
    private volatile bool _upgraded;
    private volatile bool _expired;
    private volatile bool _disposed;

    // Guarded by the wheel's lock.
    private long _pingSentAt;
    private int _readsAtPing;
    private long _deadline;
    private bool _verifying;

    /// <param name="inner">The plaintext stream under the WebSocket.</param>
    /// <param name="settings">The connection's liveness settings.</param>
    /// <param name="wheel">The wheel of the transport's time provider.</param>
    /// <param name="peer">The PBX endpoint the connection goes to (scheme, authority, path): connections with the same
    /// endpoint and settings share one liveness probe (<see cref="KeepAliveWheel"/>); <see langword="null"/> for a
    /// connection that probes on its own.</param>
    public PingingStream(Stream inner, KeepAliveSettings settings, KeepAliveWheel wheel, string? peer = null)
    {
        _inner = inner;
        _wheel = wheel;
        Settings = settings;
        Peer = peer;
        _connectionInterval = wheel.Ticks(settings.ConnectionInterval);
        _timeout = wheel.Ticks(settings.Timeout);
        _verifyTimeout = wheel.Ticks(settings.VerifyTimeout);
        _lastRead = wheel.Time.GetTimestamp();
    }

    public KeepAliveSettings Settings { get; }

    /// <summary>The PBX endpoint whose connections share a probe, or <see langword="null"/> (also once the stream joined its group).</summary>
    public string? Peer { get; private set; }

    /// <summary>The wheel's group of this connection (set and read under the wheel's lock).</summary>
    internal KeepAliveGroup? Group { get; private set; }

    /// <summary>When something was last received (the wheel's timestamp).</summary>
    internal long LastRead => Volatile.Read(ref _lastRead);

    /// <summary>Whether the wheel may pick this connection for a probe: alive, no PING of its own under way (wheel's lock).</summary>
    internal bool CanProbe => _pingSentAt == 0 && !_expired && !_disposed;

    /// <summary>Whether the keepalive has given up on the peer.</summary>
    public bool Expired => _expired;

    /// <summary>Whether the stream was disposed.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>The deadline that ended the stream: the keepalive timeout, or the verify timeout.</summary>
    public TimeSpan ExpiredAfter { get; private set; }

    public override bool CanRead => _inner.CanRead;

    public override bool CanWrite => _inner.CanWrite;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Takes the stream of the handshake whose <c>Sec-WebSocket-Accept</c> was <paramref name="accept"/>.</summary>
    public static PingingStream? Claim(string accept) => Unclaimed.TryRemove(accept, out var stream) ? stream : null;

    /// <summary>Asks the wheel to verify this connection now (a PING with the verify deadline).</summary>
    public void Verify() => _wheel.Verify([this]);

    // Pooled: an idle connection has a read pending all the time, and each PONG completes one.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int read;
        try
        {
            read = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (_expired && e is not KeepAliveTimeoutException)
        {
            throw ExpiredException(e);
        }
        catch (Exception e) when (_disposed && e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // Disposed under a pending read (the WebSocket aborting, or closing after a bounded close handshake): the end
            // of the stream, not a failure of ours. .NET 8's WebSocket may leave such a read unobserved; an error thrown
            // from here would then surface as an unobserved task exception.
            return 0;
        }

        // A read ended by the expiry's dispose may also come back empty (end of stream) instead of failing.
        if (read == 0 && _expired)
        {
            throw ExpiredException(null);
        }

        if (read > 0)
        {
            Volatile.Write(ref _lastRead, _wheel.Time.GetTimestamp());
            Volatile.Write(ref _reads, _reads + 1);
            if (!_upgraded)
            {
                OnHandshakeBytes(buffer.Span[..read]);
            }
        }

        return read;
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>The wheel's look at this connection at a tick (under the wheel's lock); may move <paramref name="next"/> earlier.</summary>
    internal KeepAliveAction Check(long now, bool resumed, ref long next)
    {
        if (_expired || _disposed)
        {
            return KeepAliveAction.None;
        }

        var lastRead = Volatile.Read(ref _lastRead);
        if (_pingSentAt != 0 && Answered)
        {
            // Answered (or other traffic arrived): back to watching for silence.
            _pingSentAt = 0;
            _verifying = false;
        }

        if (resumed)
        {
            // Asleep, the time that passed says nothing about the peer: verify instead of judging by it.
            StartPing(now, verify: true);
        }
        else if (_pingSentAt != 0)
        {
            if (now >= _deadline)
            {
                _expired = true;
                ExpiredAfter = _verifying ? Settings.VerifyTimeout : Settings.Timeout;
                return KeepAliveAction.Expire;
            }

            next = Math.Min(next, _deadline);
            return KeepAliveAction.None;
        }
        else if (now - lastRead >= _connectionInterval)
        {
            // The connection's own check, for what its group's probe cannot see (a PBX that dropped this one session).
            StartPing(now, verify: false);
        }
        else
        {
            return KeepAliveAction.None;
        }

        next = Math.Min(next, _deadline);
        return KeepAliveAction.Ping;
    }

    /// <summary>Starts a verify PING unless one is under way (under the wheel's lock); <paramref name="deadline"/> is its deadline.</summary>
    internal bool StartVerify(long now, out long deadline)
    {
        deadline = long.MaxValue;
        if (_expired || _disposed)
        {
            return false;
        }

        if (_verifying && _pingSentAt != 0 && !Answered)
        {
            deadline = _deadline;
            return false;
        }

        StartPing(now, verify: true);
        deadline = _deadline;
        return true;
    }

    /// <summary>Joins the wheel's group (under the wheel's lock); the group holds the endpoint from then on.</summary>
    internal void Join(KeepAliveGroup group)
    {
        Group = group;
        Peer = null;
    }

    /// <summary>Sends this connection its group's probe (under the wheel's lock): a keepalive PING with its timeout.</summary>
    internal void StartProbe(long now) => StartPing(now, verify: false);

    /// <summary>
    /// Gives up on the connection because its group's probe went unanswered and it received nothing since the probe was
    /// sent (under the wheel's lock). Returns whether it was alive until now.
    /// </summary>
    internal bool ExpireWithGroup(long probeSentAt)
    {
        if (_expired || _disposed || LastRead >= probeSentAt)
        {
            return false;
        }

        _expired = true;
        ExpiredAfter = Settings.Timeout;
        return true;
    }

    /// <summary>Ends the stream after an unanswered PING: the pending read fails at once, and with it the WebSocket.</summary>
    internal void Expire() => _inner.Dispose();

    /// <summary>Sends one PING frame, between the WebSocket's frames.</summary>
    internal void SendPing() => _ = SendPingAsync();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _wheel.Remove(this);
            lock (_gate)
            {
                if (_accept is not null)
                {
                    Unclaimed.TryRemove(new KeyValuePair<string, PingingStream>(_accept, this));
                }
            }

            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private IOException ExpiredException(Exception? inner) =>
        new("keepalive: the peer did not answer a PING in time", new KeepAliveTimeoutException(ExpiredAfter, inner));

    /// <summary>Whether anything arrived since the last PING was sent.</summary>
    private bool Answered => Volatile.Read(ref _reads) != _readsAtPing;

    private void StartPing(long now, bool verify)
    {
        _pingSentAt = now;
        _readsAtPing = Volatile.Read(ref _reads);
        _verifying = verify;
        _deadline = now + (verify ? _verifyTimeout : _timeout);
    }

    /// <summary>Collects the HTTP response head; after a 101 the stream carries WebSocket frames and joins the wheel.</summary>
    private void OnHandshakeBytes(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            foreach (var b in data)
            {
                if (_upgraded || _disposed)
                {
                    return;
                }

                _header ??= new byte[512];
                if (_headerLength == _header.Length)
                {
                    if (_header.Length >= MaxHeaderBytes)
                    {
                        // Not an HTTP response head this stream understands: no keepalive rather than a PING inside HTTP.
                        _header = null;
                        _headerLength = 0;
                        return;
                    }

                    Array.Resize(ref _header, _header.Length * 2);
                }

                _header[_headerLength++] = b;
                if (_headerLength >= 4 && _header.AsSpan(_headerLength - 4, 4).SequenceEqual("\r\n\r\n"u8))
                {
                    OnResponseHead(Encoding.ASCII.GetString(_header, 0, _headerLength));
                    _header = null;
                    _headerLength = 0;
                }
            }
        }
    }

    private void OnResponseHead(string head)
    {
        // Only "101 Switching Protocols" turns the connection into a WebSocket; any other answer leaves it HTTP (it may
        // serve another request), where a PING frame would corrupt the exchange.
        var lines = head.Split("\r\n");
        var status = lines[0].Split(' ', 3);
        if (status.Length < 2 || status[1] != "101")
        {
            return;
        }

        foreach (var line in lines)
        {
            if (line.StartsWith("Sec-WebSocket-Accept:", StringComparison.OrdinalIgnoreCase))
            {
                _accept = line["Sec-WebSocket-Accept:".Length..].Trim();
                Unclaimed[_accept] = this;
            }
        }

        _upgraded = true;
        Volatile.Write(ref _lastRead, _wheel.Time.GetTimestamp());
        _wheel.Add(this);
    }

    private async Task SendPingAsync()
    {
        // A client frame is masked (RFC 6455 5.3): FIN + PING, MASK bit + zero length, 4 mask bytes, no payload (so the
        // mask hides nothing, and a fast random source serves).
        var frame = new byte[6];
        frame[0] = 0x89;
        frame[1] = 0x80;
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(2), Random.Shared.Next());
        try
        {
            await WriteAsync(frame).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A failed PING write means a dead connection, which the read side reports.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}

/// <summary>The peer did not answer a PING within <see cref="Limit"/> (the inner exception of the read's <see cref="IOException"/>).</summary>
internal sealed class KeepAliveTimeoutException(TimeSpan limit, Exception? inner) : TimeoutException("no answer to a PING in time", inner)
{
    /// <summary>The deadline that passed: the keepalive timeout, or the verify timeout.</summary>
    public TimeSpan Limit { get; } = limit;
}
