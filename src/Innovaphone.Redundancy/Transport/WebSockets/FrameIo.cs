using System.Buffers;
using System.Net.WebSockets;
using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>What one receive produced.</summary>
internal enum ReceivedFrameKind
{
    /// <summary>A complete text message.</summary>
    Text,

    /// <summary>A binary message (not part of myApps); its content is not read.</summary>
    Binary,

    /// <summary>A message larger than the limit; reading stopped there.</summary>
    TooLarge,

    /// <summary>The peer sent a close frame.</summary>
    Closed,
}

/// <summary>One received WebSocket message.</summary>
/// <param name="Kind">What was received.</param>
/// <param name="Data">The text message's UTF-8 bytes (empty otherwise).</param>
/// <param name="CloseDescription">For <see cref="ReceivedFrameKind.Closed"/>: the peer's status and reason.</param>
internal readonly record struct ReceivedFrame(ReceivedFrameKind Kind, ReadOnlyMemory<byte> Data, string CloseDescription);

/// <summary>Reads whole messages with a size limit and closes sockets within a bound, never throwing on close.</summary>
internal static class FrameIo
{
    // The first read of a message is small: it is the one pending on an idle connection, which is what a connection
    // is most of its life (a 16 KiB first read was the largest item of an idle manager). Most myApps messages fit;
    // longer ones (a LoginResult with its info) continue in chunks. A zero-byte read would hold no buffer at all, but
    // measured ~0.8 ms later loss detection over loopback, a third of the failover time.
    private const int FirstReadBytes = 512;
    private const int ChunkBytes = 4 * 1024;

    /// <summary>Receives one complete message, at most <paramref name="maxBytes"/> long.</summary>
    /// <param name="socket">The socket.</param>
    /// <param name="maxBytes">The largest message accepted.</param>
    /// <param name="cancellationToken">Cancels the receive; ManagedWebSocket then aborts the socket.</param>
    public static async ValueTask<ReceivedFrame> ReceiveAsync(WebSocket socket, int maxBytes, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(FirstReadBytes);
        while (true)
        {
            // Ask for at most one byte beyond the limit: enough to tell "too large" without reading the whole frame.
            var room = Math.Min(buffer.WrittenCount == 0 ? FirstReadBytes : ChunkBytes, maxBytes + 1 - buffer.WrittenCount);
            var result = await socket.ReceiveAsync(buffer.GetMemory(room)[..room], cancellationToken).ConfigureAwait(false);
            switch (result.MessageType)
            {
                case WebSocketMessageType.Close:
                    return new ReceivedFrame(ReceivedFrameKind.Closed, ReadOnlyMemory<byte>.Empty, DescribeClose(socket));
                case WebSocketMessageType.Binary:
                    return new ReceivedFrame(ReceivedFrameKind.Binary, ReadOnlyMemory<byte>.Empty, string.Empty);
            }

            buffer.Advance(result.Count);
            if (buffer.WrittenCount > maxBytes)
            {
                return new ReceivedFrame(ReceivedFrameKind.TooLarge, ReadOnlyMemory<byte>.Empty, string.Empty);
            }

            if (result.EndOfMessage)
            {
                return new ReceivedFrame(ReceivedFrameKind.Text, buffer.WrittenMemory, string.Empty);
            }
        }
    }

    /// <summary>Sends one text message.</summary>
    public static ValueTask SendTextAsync(WebSocket socket, ReadOnlyMemory<byte> utf8, CancellationToken cancellationToken) =>
        socket.SendAsync(utf8, WebSocketMessageType.Text, WebSocketMessageFlags.EndOfMessage, cancellationToken);

    /// <summary>
    /// Runs the close handshake within <paramref name="timeout"/>, then aborts and disposes the socket whatever happened.
    /// Never throws: closing is best effort, the connection is over either way.
    /// </summary>
    public static async Task CloseQuietlyAsync(
        WebSocket socket, WebSocketCloseStatus status, string description, TimeSpan timeout, TimeProvider timeProvider, ILogger logger, PbxAddress pbx)
    {
        try
        {
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var bound = new CancellationTokenSource(timeout, timeProvider);
                await socket.CloseAsync(status, description, bound.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            WebSocketLog.CloseIncomplete(logger, pbx, e.GetType().Name);
        }
        finally
        {
            socket.Abort();
            socket.Dispose();
        }
    }

    private static string DescribeClose(WebSocket socket)
    {
        var status = socket.CloseStatus is { } s ? s.ToString() : "no status";
        var text = socket.CloseStatusDescription;

        // The description is the peer's text; bound it so that a hostile peer cannot flood the log.
        if (string.IsNullOrEmpty(text))
        {
            return status;
        }

        return status + ", " + (text.Length <= 60 ? text : text[..60] + "...");
    }
}
