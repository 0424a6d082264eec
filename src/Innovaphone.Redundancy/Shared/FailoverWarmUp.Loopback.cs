using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace Innovaphone.Redundancy.Shared;

/// <summary>The warm-up, part two: the framework's socket failure paths, run for real on the loopback interface.</summary>
internal static partial class FailoverWarmUp
{
    /// <summary>The bound of the loopback step as a whole (real time: real sockets). Settable for tests only.</summary>
    internal static TimeSpan LoopbackTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Runs on loopback, inside the process, what only a real socket error reaches (issue 19 point 2): a WebSocket
    /// client, through a <see cref="SocketsHttpHandler"/> of its own (never the transport's shared one), connects to a
    /// listener of this method on 127.0.0.1 (::1 without IPv4), which answers the upgrade and then resets the connection
    /// (linger 0) under the client's pending receive, as a killed PBX does; then the client connects to a loopback port
    /// that is bound but not listening and is refused, as the first reconnect to a dead PBX is. Everything is disposed
    /// at the end. Best effort: a failure (no loopback address can be bound, a firewall, <see cref="LoopbackTimeout"/>)
    /// ends the step and is only reported in the result.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    internal static async Task<LoopbackOutcome> RunLoopbackAsync(CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(LoopbackTimeout);
        var outcome = new LoopbackOutcome();
        try
        {
            using var listener = Listen(out var address);
            if (listener is null)
            {
                return outcome with { Skipped = "no loopback address could be bound" };
            }

            using var handler = new SocketsHttpHandler
            {
                // As the transport's handler connects (a socket of its own, to the name's end point), so that the same
                // framework code runs; no pool is shared with it.
                ConnectCallback = ConnectAsync,
                PlaintextStreamFilter = static (context, _) => ValueTask.FromResult(context.PlaintextStream),
            };
            using var invoker = new HttpMessageInvoker(handler, disposeHandler: false);
            outcome = outcome with { Reset = await ResetAsync(listener, invoker, bounded.Token).ConfigureAwait(false) };

            // A port that is bound but does not listen: the kernel refuses the connect (no other process can take it).
            using var closed = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            closed.Bind(new IPEndPoint(address, 0));
            outcome = outcome with { Refused = await RefusedAsync(WebSocketUri(closed), invoker, bounded.Token).ConfigureAwait(false) };
            return outcome;
        }
        catch (Exception e)
        {
            // Best effort: whatever went wrong (the bound included) leaves the rest to the first failover's JIT; a
            // cancellation by the caller ends the run, whatever the exception it surfaced as.
            cancellationToken.ThrowIfCancellationRequested();
            return outcome with { Skipped = $"{e.GetType().Name}: {e.Message}" };
        }
    }

    /// <summary>What the loopback step ran.</summary>
    internal readonly record struct LoopbackOutcome
    {
        /// <summary>A client's pending receive failed on a connection its server reset.</summary>
        public bool Reset { get; init; }

        /// <summary>A client's connect was refused.</summary>
        public bool Refused { get; init; }

        /// <summary>Why the step ended early, null when it ran to its end.</summary>
        public string? Skipped { get; init; }
    }

    /// <summary>A listener on 127.0.0.1 or, without IPv4, on ::1, on a port of the system's choice; null when neither binds.</summary>
    private static Socket? Listen(out IPAddress address)
    {
        foreach (var candidate in new[] { IPAddress.Loopback, IPAddress.IPv6Loopback })
        {
            var socket = new Socket(candidate.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(candidate, 0));
                socket.Listen(1);
                address = candidate;
                return socket;
            }
            catch (SocketException)
            {
                socket.Dispose();
            }
        }

        address = IPAddress.None;
        return null;
    }

    private static Uri WebSocketUri(Socket bound)
    {
        var endPoint = (IPEndPoint)bound.LocalEndPoint!;
        return new UriBuilder("ws", endPoint.Address.ToString(), endPoint.Port, "/warm-up").Uri;
    }

    private static ClientWebSocket Client()
    {
        // The transport's options: its PINGs come from below the WebSocket, and it reads the upgrade's headers.
        var client = new ClientWebSocket();
        client.Options.KeepAliveInterval = TimeSpan.Zero;
        client.Options.CollectHttpResponseDetails = true;
        return client;
    }

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Connects to <paramref name="listener"/>, receives, and has the server reset the connection: true when the receive failed.</summary>
    private static async Task<bool> ResetAsync(Socket listener, HttpMessageInvoker invoker, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var serving = AcceptUpgradeAsync(listener, stop.Token);
        try
        {
            using var client = Client();
            await client.ConnectAsync(WebSocketUri(listener), invoker, cancellationToken).ConfigureAwait(false);
            using var server = await serving.ConfigureAwait(false);
            var receive = client.ReceiveAsync(new byte[16].AsMemory(), cancellationToken);
            server.LingerState = new LingerOption(true, 0);
            server.Close();
            try
            {
                _ = await receive.ConfigureAwait(false);
                return false;
            }
            catch (WebSocketException)
            {
                // Expected: the connection was reset under the receive.
                return true;
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                (await serving.ConfigureAwait(false)).Dispose();
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
                // The server side ended with the client's failure.
            }
        }
    }

    /// <summary>Accepts one connection and answers its WebSocket upgrade (the request read to its blank line, nothing checked but the key).</summary>
    private static async Task<Socket> AcceptUpgradeAsync(Socket listener, CancellationToken cancellationToken)
    {
        var socket = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var buffer = new byte[4096];
            var length = 0;
            int end;
            while ((end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
            {
                var read = length < buffer.Length ? await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false) : 0;
                if (read == 0)
                {
                    throw new IOException("the warm-up's client sent no complete upgrade request");
                }

                length += read;
            }

            const string KeyHeader = "Sec-WebSocket-Key:";
            var request = Encoding.ASCII.GetString(buffer, 0, end);
            var line = request.Split("\r\n").FirstOrDefault(l => l.StartsWith(KeyHeader, StringComparison.OrdinalIgnoreCase))
                ?? throw new IOException("the warm-up's client sent no WebSocket key");

            // RFC 6455 section 4.2.2: the key and the protocol's GUID, hashed with SHA-1 (the protocol's choice, not a security one).
#pragma warning disable CA5350
            var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(line[KeyHeader.Length..].Trim() + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
#pragma warning restore CA5350
            var answer = Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
            _ = await socket.SendAsync(answer.AsMemory(), cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Connects to <paramref name="uri"/>, where nothing listens: true when the connect was refused.</summary>
    private static async Task<bool> RefusedAsync(Uri uri, HttpMessageInvoker invoker, CancellationToken cancellationToken)
    {
        using var client = Client();
        try
        {
            await client.ConnectAsync(uri, invoker, cancellationToken).ConfigureAwait(false);
            return false;
        }
        catch (WebSocketException e) when (!cancellationToken.IsCancellationRequested)
        {
            // Expected: "unable to connect", over the connection pool's HttpRequestException and the SocketException.
            return e.InnerException is HttpRequestException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionRefused } };
        }
    }
}
