using System.Net.WebSockets;

namespace Innovaphone.Redundancy.Tests.Fuzzing;

/// <summary>A <see cref="ClientWebSocket"/> that records every whole text message sent and received (the wire, for secret searches).</summary>
internal sealed class RecordingWebSocket(ClientWebSocket inner, List<byte[]> wire) : WebSocket
{
    private readonly List<byte> _receiving = [];
    private readonly List<byte> _sending = [];

    public override WebSocketCloseStatus? CloseStatus => inner.CloseStatus;

    public override string? CloseStatusDescription => inner.CloseStatusDescription;

    public override WebSocketState State => inner.State;

    public override string? SubProtocol => inner.SubProtocol;

    public static async ValueTask<WebSocket> ConnectAsync(Uri uri, List<byte[]> wire, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        try
        {
            await socket.ConnectAsync(uri, cancellationToken);
            return new RecordingWebSocket(socket, wire);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public override void Abort() => inner.Abort();

    public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
        inner.CloseAsync(closeStatus, statusDescription, cancellationToken);

    public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
        inner.CloseOutputAsync(closeStatus, statusDescription, cancellationToken);

    public override void Dispose() => inner.Dispose();

    public override async Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken)
    {
        var result = await inner.ReceiveAsync(buffer, cancellationToken);
        OnReceived(buffer.AsSpan(0, result.Count), result.MessageType, result.EndOfMessage);
        return result;
    }

    public override async ValueTask<ValueWebSocketReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var result = await inner.ReceiveAsync(buffer, cancellationToken);
        OnReceived(buffer.Span[..result.Count], result.MessageType, result.EndOfMessage);
        return result;
    }

    public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
    {
        OnSending(buffer, messageType, endOfMessage);
        return inner.SendAsync(buffer, messageType, endOfMessage, cancellationToken);
    }

    public override ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
    {
        OnSending(buffer.Span, messageType, endOfMessage);
        return inner.SendAsync(buffer, messageType, endOfMessage, cancellationToken);
    }

    public override ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, WebSocketMessageFlags messageFlags, CancellationToken cancellationToken)
    {
        OnSending(buffer.Span, messageType, messageFlags.HasFlag(WebSocketMessageFlags.EndOfMessage));
        return inner.SendAsync(buffer, messageType, messageFlags, cancellationToken);
    }

    private void OnReceived(ReadOnlySpan<byte> data, WebSocketMessageType type, bool end) => Collect(_receiving, data, type, end);

    private void OnSending(ReadOnlySpan<byte> data, WebSocketMessageType type, bool end) => Collect(_sending, data, type, end);

    private void Collect(List<byte> pending, ReadOnlySpan<byte> data, WebSocketMessageType type, bool end)
    {
        if (type != WebSocketMessageType.Text)
        {
            return;
        }

        lock (wire)
        {
            pending.AddRange(data);
            if (end)
            {
                wire.Add([.. pending]);
                pending.Clear();
            }
        }
    }
}
