using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>
/// WebSocket PING/PONG liveness for runtimes whose ClientWebSocket cannot send a PING (.NET 8 sends only unsolicited
/// PONGs, which no peer answers). Sits in the plaintext stream under the WebSocket (SocketsHttpHandler's
/// PlaintextStreamFilter: above TLS, below HTTP): once the HTTP upgrade response has passed, it sends a masked PING frame
/// whenever nothing was received for the interval, and ends the stream when nothing at all arrives within the timeout
/// after a PING. Any received byte (the PONG, or a message) proves the peer alive.
/// </summary>
/// <remarks>
/// A PING is written between the WebSocket's own frames, never inside one: the WebSocket writes each frame with one
/// write call, and writes are serialised here. After an expiry reads fail with an <see cref="IOException"/> whose inner
/// exception is a <see cref="TimeoutException"/>, which the connection reports as a keepalive loss.
/// </remarks>
internal sealed class PingingStream : Stream
{
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();

    private readonly Stream _inner;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly object _gate = new();
    private ITimer? _timer;
    private long _lastRead;
    private long _pingSentAt;
    private int _headerMatched;
    private bool _upgraded;
    private bool _expired;
    private bool _disposed;

    public PingingStream(Stream inner, TimeSpan interval, TimeSpan timeout, TimeProvider time)
    {
        _inner = inner;
        _interval = interval;
        _timeout = timeout;
        _time = time;
        _lastRead = time.GetTimestamp();
    }

    /// <summary>Whether the keepalive has given up on the peer.</summary>
    public bool Expired
    {
        get
        {
            lock (_gate)
            {
                return _expired;
            }
        }
    }

    private bool Disposed
    {
        get
        {
            lock (_gate)
            {
                return _disposed;
            }
        }
    }

    public override bool CanRead => _inner.CanRead;

    public override bool CanWrite => _inner.CanWrite;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int read;
        try
        {
            read = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Expired && e is not TimeoutException)
        {
            throw ExpiredException(e);
        }
        catch (Exception e) when (Disposed && e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // Disposed under a pending read (the WebSocket aborting, or closing after a bounded close handshake): the end
            // of the stream, not a failure of ours. .NET 8's WebSocket may leave such a read unobserved; an error thrown
            // from here would then surface as an unobserved task exception.
            return 0;
        }

        // A read ended by the expiry's dispose may also come back empty (end of stream) instead of failing.
        if (read == 0 && Expired)
        {
            throw ExpiredException(null);
        }

        OnRead(buffer.Span[..read]);
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

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            ITimer? timer;
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }

                _disposed = true;
                timer = _timer;
                _timer = null;
            }

            timer?.Dispose();
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private static IOException ExpiredException(Exception? inner) =>
        new("keepalive: the peer did not answer a PING in time", new TimeoutException("no PONG", inner));

    private void OnRead(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        lock (_gate)
        {
            _lastRead = _time.GetTimestamp();
            if (_upgraded || _disposed)
            {
                return;
            }

            // The HTTP upgrade response ends with an empty line; every byte after it is WebSocket frames.
            foreach (var b in data)
            {
                _headerMatched = b == HeaderEnd[_headerMatched] ? _headerMatched + 1 : b == HeaderEnd[0] ? 1 : 0;
                if (_headerMatched == HeaderEnd.Length)
                {
                    _upgraded = true;
                    _timer = _time.CreateTimer(static s => ((PingingStream)s!).OnTimer(), this, _interval, Timeout.InfiniteTimeSpan);
                    return;
                }
            }
        }
    }

    private void OnTimer()
    {
        var sendPing = false;
        lock (_gate)
        {
            if (_disposed || _expired || _timer is null)
            {
                return;
            }

            var now = _time.GetTimestamp();
            if (_pingSentAt != 0)
            {
                if (_lastRead >= _pingSentAt)
                {
                    // Answered (or other traffic arrived): back to watching for silence.
                    _pingSentAt = 0;
                }
                else
                {
                    _expired = true;
                }
            }

            if (!_expired && _pingSentAt == 0)
            {
                var idle = _time.GetElapsedTime(_lastRead, now);
                if (idle >= _interval)
                {
                    _pingSentAt = now;
                    sendPing = true;
                    _timer.Change(_timeout, Timeout.InfiniteTimeSpan);
                }
                else
                {
                    _timer.Change(_interval - idle, Timeout.InfiniteTimeSpan);
                }
            }
        }

        if (Expired)
        {
            // Ends the pending read (and with it the WebSocket) at once.
            _inner.Dispose();
            return;
        }

        if (sendPing)
        {
            _ = SendPingAsync();
        }
    }

    private async Task SendPingAsync()
    {
        // A client frame is masked (RFC 6455 5.3): FIN + PING, MASK bit + zero length, 4 mask bytes, no payload.
        var frame = new byte[6];
        frame[0] = 0x89;
        frame[1] = 0x80;
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(2), RandomNumberGenerator.GetInt32(int.MinValue, int.MaxValue));
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
