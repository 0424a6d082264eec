using System.Globalization;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Authentication;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>The transport, part two: opening the socket (SocketsHttpHandler, TCP keep-alive, PINGs on net8.0, TLS) and naming what failed.</summary>
public sealed partial class MyAppsWebSocketTransport
{
    private async ValueTask<WebSocket> ConnectClientWebSocketAsync(Uri uri, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        try
        {
            socket.Options.KeepAliveInterval = _options.KeepAliveInterval;
#if NET9_0_OR_GREATER
            if (PingsPeer)
            {
                // PING/PONG: the client aborts when no PONG arrives within the timeout (a half-open connection).
                socket.Options.KeepAliveTimeout = _options.KeepAliveTimeout;
            }
#else
            if (PingsPeer)
            {
                // .NET 8 would send unsolicited PONGs; the PingingStream under the WebSocket sends PINGs instead.
                socket.Options.KeepAliveInterval = TimeSpan.Zero;
            }
#endif
            socket.Options.CollectHttpResponseDetails = true;
            try
            {
                await socket.ConnectAsync(uri, Invoker, cancellationToken).ConfigureAwait(false);
            }
            catch (WebSocketException e) when (socket.HttpStatusCode != 0 && socket.HttpStatusCode != System.Net.HttpStatusCode.SwitchingProtocols)
            {
                throw new WebSocketException(
                    WebSocketError.NotAWebSocket,
                    string.Create(CultureInfo.InvariantCulture, $"the server answered HTTP {(int)socket.HttpStatusCode} instead of a WebSocket upgrade"),
                    e);
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// One handler for all of this transport's connections: its connect callback turns on TCP keep-alive, which finds a
    /// dead PBX host or a cut network on every runtime; on .NET 8, whose ClientWebSocket cannot PING, its plaintext stream
    /// filter adds a <see cref="PingingStream"/> that does.
    /// </summary>
    private HttpMessageInvoker Invoker
    {
        get
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_invoker is null)
                {
                    var handler = new SocketsHttpHandler { ConnectCallback = ConnectTcpAsync };
#if !NET9_0_OR_GREATER
                    if (PingsPeer)
                    {
                        // .NET 8's ClientWebSocket cannot PING: a stream under it does (above TLS, below the WebSocket).
                        handler.PlaintextStreamFilter = (context, _) =>
                            ValueTask.FromResult<Stream>(new PingingStream(context.PlaintextStream, _options.KeepAliveInterval, _options.KeepAliveTimeout, _timeProvider));
                    }
#endif
                    if (_options.RemoteCertificateValidationCallback is { } validate)
                    {
                        handler.SslOptions.RemoteCertificateValidationCallback = validate;
                    }

                    _invoker = new HttpMessageInvoker(handler, disposeHandler: true);
                }

                return _invoker;
            }
        }
    }

    /// <summary>Whether connections check the PBX with WebSocket PINGs (keepalive interval and timeout both set).</summary>
    private bool PingsPeer => _options.KeepAliveInterval > TimeSpan.Zero && _options.KeepAliveTimeout != Timeout.InfiniteTimeSpan;

    private async ValueTask<Stream> ConnectTcpAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);

            // After the connect: on .NET 8 a socket option set before a connect to a DnsEndPoint makes the connect fail
            // ("invalid for use after a failed connection attempt"); keep-alive applies to the established connection anyway.
            ConfigureTcpKeepAlive(socket, _options);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// TCP keep-alive from <see cref="MyAppsTransportOptions.KeepAliveInterval"/> (idle time before the first probe, whole
    /// seconds, at least 1) and <see cref="MyAppsTransportOptions.KeepAliveTimeout"/> (probes one second apart, at least
    /// one): the kernel resets a connection whose peer stops acknowledging. Off when either option turns keepalive off.
    /// </summary>
    internal static void ConfigureTcpKeepAlive(Socket socket, MyAppsTransportOptions options)
    {
        if (options.KeepAliveInterval <= TimeSpan.Zero || options.KeepAliveTimeout == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, WholeSeconds(options.KeepAliveInterval));
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 1);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, WholeSeconds(options.KeepAliveTimeout));
        }
        catch (Exception e) when (e is SocketException or PlatformNotSupportedException)
        {
            // A platform without per-socket keep-alive settings keeps its defaults; the connection still works.
        }

        static int WholeSeconds(TimeSpan value) => (int)Math.Clamp(Math.Ceiling(value.TotalSeconds), 1, 32767);
    }

    private static bool IsConnectFailure(Exception e) =>
        e is WebSocketException or HttpRequestException or SocketException or IOException or AuthenticationException or UriFormatException or OperationCanceledException;

    private static string DescribeConnectFailure(Exception e)
    {
        // The outermost WebSocketException often says only "Unable to connect to the remote server"; the innermost
        // exception says why (refused, DNS, TLS). Neither contains credentials: the URL carries none.
        var inner = e;
        while (inner.InnerException is not null)
        {
            inner = inner.InnerException;
        }

        return ReferenceEquals(inner, e) || e is WebSocketException { WebSocketErrorCode: WebSocketError.NotAWebSocket }
            ? $"{e.GetType().Name}: {e.Message}"
            : $"{e.GetType().Name}: {e.Message} ({inner.GetType().Name}: {inner.Message})";
    }
}
