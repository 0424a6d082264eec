using System.Globalization;
using System.Net.WebSockets;
using System.Reactive.Linq;
using System.Reactive.Subjects;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>
/// A logged-in myApps WebSocket connection to one PBX. The connection manager owns it (and disposes it); the host
/// uses <see cref="SendAsync"/> and <see cref="Messages"/> for its own app messages on the same connection.
/// </summary>
/// <remarks>
/// <para>Ends (<see cref="Lost"/>) on StandbyBack, on LogoutResult (the session is then forgotten), when the socket
/// closes or fails, when the keepalive finds the PBX dead, on a binary or oversized frame, or on dispose.</para>
/// <para>Obtain it from <see cref="MyAppsWebSocketTransport.Connections"/> or
/// <see cref="MyAppsWebSocketTransport.CurrentConnection"/>; do not dispose it yourself while a manager runs.</para>
/// </remarks>
public sealed class MyAppsConnection : IPbxConnection
{
    private readonly WebSocket _socket;
    private readonly MyAppsTransportOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Action _onLoggedOut;
    private readonly TaskCompletionSource<ConnectionLoss> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Subject<string> _messages = new();
    private readonly SemaphoreSlim _sendGate = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly object _closeGate = new();
    private Task? _receiveLoop;
    private Task? _closing;
    private volatile bool _disposing;

    internal MyAppsConnection(
        WebSocket socket,
        PbxAddress pbx,
        PbxLoginInfo info,
        MyAppsTransportOptions options,
        TimeProvider timeProvider,
        ILogger logger,
        Action onLoggedOut)
    {
        _socket = socket;
        Pbx = pbx;
        Info = info;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
        _onLoggedOut = onLoggedOut;
    }

    /// <inheritdoc/>
    public PbxAddress Pbx { get; }

    /// <summary>What the PBX told about itself at login (standby, alt, master).</summary>
    public PbxLoginInfo Info { get; }

    /// <inheritdoc/>
    public Task<ConnectionLoss> Lost => _lost.Task;

    /// <summary>
    /// Every text message received after login, as JSON text, including StandbyBack and LogoutResult. Completes when
    /// the connection ends. Hot: messages that arrive while nobody is subscribed are not kept. Observers run on the
    /// receive loop: keep them short; an observer that throws is logged and misses only that message.
    /// </summary>
    public IObservable<string> Messages => _messages.AsObservable();

    /// <summary>Sends one app message (a JSON object as UTF-8) on this connection. Sends are serialised.</summary>
    /// <param name="jsonUtf8">The message; must be one JSON object with <c>mt</c>. Not validated here.</param>
    /// <param name="cancellationToken">Cancels the send; a cancelled send aborts the socket (WebSocket semantics).</param>
    /// <exception cref="ObjectDisposedException">The connection was disposed.</exception>
    /// <exception cref="InvalidOperationException">The connection has ended.</exception>
    /// <exception cref="WebSocketException">The socket failed while sending.</exception>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> jsonUtf8, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposing, this);
        if (_lost.Task.IsCompleted)
        {
            throw new InvalidOperationException($"The connection to {Pbx} has ended.");
        }

        await _sendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FrameIo.SendTextAsync(_socket, jsonUtf8, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendGate.Release();
        }
    }

    /// <summary>
    /// Closes the connection: <see cref="Lost"/> completes with <see cref="ConnectionLossKind.ClosedByClient"/> (unless
    /// it ended before), the close handshake runs for at most <see cref="MyAppsTransportOptions.CloseTimeout"/>, then the
    /// socket is aborted. Never throws.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposing)
        {
            return;
        }

        _disposing = true;
        End(new ConnectionLoss(ConnectionLossKind.ClosedByClient, "closed by this client"));
        await CloseAsync(WebSocketCloseStatus.NormalClosure, "client closing").ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_receiveLoop is { } loop)
        {
            // The socket is aborted by now, so the loop ends at once; it never throws.
            await loop.ConfigureAwait(false);
        }

        _stop.Dispose();
        _sendGate.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"myApps connection to {Pbx}";

    /// <summary>Starts the receive loop; called once, right after login.</summary>
    internal void Start()
    {
        _receiveLoop = Task.Run(ReceiveLoopAsync);
    }

    private async Task ReceiveLoopAsync()
    {
        ConnectionLoss loss;
        WebSocketCloseStatus closeStatus;
        try
        {
            (loss, closeStatus) = await ReceiveUntilEndAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            closeStatus = WebSocketCloseStatus.NormalClosure;
            loss = _disposing
                ? new ConnectionLoss(ConnectionLossKind.ClosedByClient, "closed by this client")
                : KeepAliveExpired(e, out var limit)
                    ? new ConnectionLoss(ConnectionLossKind.Closed, string.Create(CultureInfo.InvariantCulture, $"keepalive: no answer to a PING within {limit}"))
                    : new ConnectionLoss(ConnectionLossKind.Closed, $"socket error ({e.GetType().Name}: {e.Message})");
        }

        End(loss);
        _messages.OnCompleted();
        await CloseAsync(closeStatus, "connection ended").ConfigureAwait(false);
    }

    private async Task<(ConnectionLoss Loss, WebSocketCloseStatus CloseStatus)> ReceiveUntilEndAsync()
    {
        while (true)
        {
            var frame = await FrameIo.ReceiveAsync(_socket, _options.MaxFrameBytes, _stop.Token).ConfigureAwait(false);
            switch (frame.Kind)
            {
                case ReceivedFrameKind.Closed:
                    return (_disposing
                        ? new ConnectionLoss(ConnectionLossKind.ClosedByClient, "closed by this client")
                        : new ConnectionLoss(ConnectionLossKind.Closed, "the PBX closed the connection (" + frame.CloseDescription + ")"),
                        WebSocketCloseStatus.NormalClosure);
                case ReceivedFrameKind.Binary:
                    return (new ConnectionLoss(ConnectionLossKind.Closed, "protocol error: binary frame (myApps uses text frames)"),
                        WebSocketCloseStatus.InvalidMessageType);
                case ReceivedFrameKind.TooLarge:
                    return (new ConnectionLoss(ConnectionLossKind.Closed, string.Create(CultureInfo.InvariantCulture, $"protocol error: frame larger than {_options.MaxFrameBytes} bytes")),
                        WebSocketCloseStatus.MessageTooBig);
            }

            var mt = MyAppsFrame.TryReadMt(frame.Data.Span);
            Publish(Encoding.UTF8.GetString(frame.Data.Span));
            switch (mt)
            {
                case "StandbyBack":
                    // The standby PBX closes the socket itself; the manager reconnects with the same session (R8).
                    return (new ConnectionLoss(ConnectionLossKind.StandbyBack, "StandbyBack: the user's PBX is back"), WebSocketCloseStatus.NormalClosure);
                case "LogoutResult":
                    _onLoggedOut();
                    return (new ConnectionLoss(ConnectionLossKind.LoggedOut, "LogoutResult: the session ended"), WebSocketCloseStatus.NormalClosure);
            }
        }
    }

    private void Publish(string message)
    {
        try
        {
            _messages.OnNext(message);
        }
        catch (Exception e)
        {
            // A host bug must not end the PBX connection.
            WebSocketLog.MessageSubscriberFailed(_logger, Pbx, e);
        }
    }

    private void End(ConnectionLoss loss)
    {
        if (_lost.TrySetResult(loss))
        {
            WebSocketLog.ConnectionLost(_logger, Pbx, loss.Kind, loss.Reason);
        }
    }

    /// <summary>One close for the connection's life, whoever asks first (receive loop or dispose).</summary>
    private Task CloseAsync(WebSocketCloseStatus status, string description)
    {
        lock (_closeGate)
        {
            return _closing ??= FrameIo.CloseQuietlyAsync(_socket, status, description, _options.CloseTimeout, _timeProvider, _logger, Pbx);
        }
    }

    /// <summary>Whether the keepalive ended the socket because a PING went unanswered; <paramref name="limit"/> is the deadline that passed.</summary>
    private bool KeepAliveExpired(Exception e, out TimeSpan limit)
    {
        // The PingingStream under the WebSocket fails its reads with an IOException over a KeepAliveTimeoutException.
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is KeepAliveTimeoutException timeout)
            {
                limit = timeout.Limit;
                WebSocketLog.KeepAliveExpired(_logger, Pbx, limit);
                return true;
            }
        }

        limit = default;
        return false;
    }
}
