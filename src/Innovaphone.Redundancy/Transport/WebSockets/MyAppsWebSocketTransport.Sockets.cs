using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>The transport, part two: opening the socket (a shared SocketsHttpHandler, TCP keep-alive, PINGs, TLS), verifying sockets and naming what failed.</summary>
public sealed partial class MyAppsWebSocketTransport
{
    /// <summary>
    /// The handlers shared by every transport of a process that uses the platform's certificate validation, per time
    /// provider and keepalive settings: one connection pool (and its cleanup timer) for all, instead of one per transport.
    /// </summary>
    private static readonly ConditionalWeakTable<TimeProvider, ConcurrentDictionary<KeepAliveSettings, HttpMessageInvoker>> SharedInvokers = [];

    // This transport's sockets that ping (logins in progress and connections), for VerifyConnections. Guarded by _gate.
    private readonly List<PingingStream> _pinging = [];

    /// <summary>
    /// Verifies every socket of this transport at once, the live connection and a login in progress alike (a sign-in or
    /// two-factor wait included): each gets a WebSocket PING and ends unless the PBX answers within
    /// <see cref="MyAppsTransportOptions.VerifyTimeout"/>. Returns at once. Does nothing when
    /// <see cref="MyAppsTransportOptions.KeepAliveInterval"/> turns the keepalive off.
    /// </summary>
    public void VerifyConnections()
    {
        PingingStream[] streams;
        lock (_gate)
        {
            _pinging.RemoveAll(s => s.IsDisposed);
            streams = [.. _pinging];
        }

        if (streams.Length > 0)
        {
            KeepAliveWheel.For(_timeProvider).Verify(streams);
        }
    }

    /// <summary>The keepalive groups of this transport's open sockets (tests: connections to one PBX share one).</summary>
    internal IReadOnlyList<KeepAliveGroup> KeepAliveGroups
    {
        get
        {
            lock (_gate)
            {
                return [.. _pinging.Where(s => !s.IsDisposed && s.Group is not null).Select(s => s.Group!).Distinct()];
            }
        }
    }

    private async ValueTask<WebSocket> ConnectClientWebSocketAsync(Uri uri, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        try
        {
            // With PINGs on, the PingingStream under the WebSocket sends them on every runtime (ClientWebSocket's own
            // keepalive is off: .NET 8's cannot PING, .NET 9+'s runs a timer per socket, and neither PINGs on demand).
            // Without a timeout, ClientWebSocket's unsolicited PONGs keep the connection from looking idle to middleboxes.
            socket.Options.KeepAliveInterval = PingsPeer ? TimeSpan.Zero : _options.KeepAliveInterval;
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

            if (socket.HttpResponseHeaders?.TryGetValue("Sec-WebSocket-Accept", out var accept) == true
                && accept.FirstOrDefault() is { } key && PingingStream.Claim(key.Trim()) is { } stream)
            {
                lock (_gate)
                {
                    _pinging.RemoveAll(s => s.IsDisposed);
                    _pinging.Add(stream);
                }
            }

            // Read; the headers need not stay with an idle connection.
            socket.HttpResponseHeaders = null;
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The handler for this transport's connections: its connect callback turns on TCP keep-alive, which finds a dead PBX
    /// host or a cut network on every runtime; its plaintext stream filter adds a <see cref="PingingStream"/> (above TLS,
    /// below the WebSocket). Shared by all transports of the process with the same time provider and keepalive settings,
    /// unless this transport validates certificates itself (a callback is the transport's own).
    /// </summary>
    private HttpMessageInvoker Invoker
    {
        get
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_invoker is not null)
                {
                    return _invoker;
                }

                var settings = new KeepAliveSettings(_options.KeepAliveInterval, _options.KeepAliveTimeout, _options.VerifyTimeout);
                if (_options.RemoteCertificateValidationCallback is { } validate)
                {
                    var handler = CreateHandler(settings, _timeProvider);
                    handler.SslOptions.RemoteCertificateValidationCallback = validate;
                    return _invoker = new HttpMessageInvoker(handler, disposeHandler: true);
                }

                var time = _timeProvider;
                return SharedInvokers.GetValue(time, static _ => new())
                    .GetOrAdd(settings, static (s, t) => new HttpMessageInvoker(CreateHandler(s, t), disposeHandler: true), time);
            }
        }
    }

    /// <summary>Whether connections check the PBX with WebSocket PINGs (keepalive interval and timeout both set).</summary>
    private bool PingsPeer => Pings(_options.KeepAliveInterval, _options.KeepAliveTimeout);

    private static bool Pings(TimeSpan interval, TimeSpan timeout) => interval > TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan;

    private static SocketsHttpHandler CreateHandler(KeepAliveSettings settings, TimeProvider time)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = (context, cancellationToken) => ConnectTcpAsync(context, settings, cancellationToken),
        };
        if (Pings(settings.Interval, settings.Timeout))
        {
            var wheel = KeepAliveWheel.For(time);
            handler.PlaintextStreamFilter = (context, _) => ValueTask.FromResult<Stream>(
                new PingingStream(context.PlaintextStream, settings, wheel, context.InitialRequestMessage.RequestUri?.GetLeftPart(UriPartial.Path)));
        }

        return handler;
    }

    private static async ValueTask<Stream> ConnectTcpAsync(SocketsHttpConnectionContext context, KeepAliveSettings settings, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);

            // After the connect: on .NET 8 a socket option set before a connect to a DnsEndPoint makes the connect fail
            // ("invalid for use after a failed connection attempt"); keep-alive applies to the established connection anyway.
            ConfigureTcpKeepAlive(socket, settings.Interval, settings.Timeout);
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
    internal static void ConfigureTcpKeepAlive(Socket socket, TimeSpan interval, TimeSpan timeout)
    {
        if (!Pings(interval, timeout))
        {
            return;
        }

        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, WholeSeconds(interval));
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 1);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, WholeSeconds(timeout));
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
