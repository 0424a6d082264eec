using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy.Testing.Emulation;

/// <summary>
/// Kestrel's transport for one emulated PBX: its own listen socket and accept loop (the connections are made by
/// Kestrel's <see cref="SocketConnectionContextFactory"/>, as its socket transport does), so that the PBX can stop
/// accepting and leave new SYNs unanswered (<see cref="SetBlackHole"/>).
/// </summary>
/// <remarks>
/// Kestrel's own socket transport accepts continuously and the kernel completes every TCP handshake while the accept
/// queue has room, so a PBX that only ignores new connections would still let their connects complete. Linux drops a
/// SYN whose listen socket's accept queue is full (no SYN-ACK, the client retransmits until its own timeout), so a
/// black hole here is: stop accepting, shrink the backlog to 0 (one queued connection fills it) and fill the queue
/// with a connection of our own. Loopback only, no privileges needed.
/// </remarks>
internal sealed class EmulatedConnectionListener : IConnectionListener
{
    // Kestrel's socket transport default: the bursts of the scale runs need it.
    private const int NormalBacklog = 512;

    private readonly Socket _socket;
    private readonly SocketConnectionContextFactory _factory;
    private readonly CancellationTokenSource _closed = new();
    private readonly object _gate = new();
    private TaskCompletionSource? _holeEnded;
    private CancellationTokenSource _holeStarted = new();
    private List<Socket> _fillers = [];

    private EmulatedConnectionListener(Socket socket, SocketConnectionContextFactory factory)
    {
        _socket = socket;
        _factory = factory;
        EndPoint = socket.LocalEndPoint!;
    }

    public EndPoint EndPoint { get; }

    public static EmulatedConnectionListener Bind(EndPoint endpoint, ILogger logger)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(endpoint);
            socket.Listen(NormalBacklog);
            return new EmulatedConnectionListener(socket, new SocketConnectionContextFactory(new SocketConnectionFactoryOptions(), logger));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <see langword="true"/>: stops accepting and fills the accept queue, so that from the return on the kernel drops
    /// every new SYN; <see langword="false"/>: accepts again with the normal backlog.
    /// </summary>
    public void SetBlackHole(bool on)
    {
        List<Socket> fillers;
        lock (_gate)
        {
            var ended = _holeEnded;
            if (on == (ended is not null) || _closed.IsCancellationRequested)
            {
                return;
            }

            if (on)
            {
                _holeEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

                // A pending accept would take the filler (or a client) out of the queue: cancel it first.
                _holeStarted.Cancel();
                _socket.Listen(0);
                _fillers.Add(Fill());
                return;
            }

            (fillers, _fillers) = (_fillers, []);

            // The cancelled source is not disposed: an accept may still be linking its token. It holds no timer.
            _holeStarted = new CancellationTokenSource();
            _socket.Listen(NormalBacklog);
            ended?.TrySetResult();
            _holeEnded = null;
        }

        // The fillers' server ends are accepted next and end at once (EOF before any request).
        fillers.ForEach(f => f.Dispose());
    }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task holeEnded;
            CancellationToken holeStarted;
            lock (_gate)
            {
                holeEnded = _holeEnded?.Task ?? Task.CompletedTask;
                holeStarted = _holeStarted.Token;
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closed.Token);
            try
            {
                await holeEnded.WaitAsync(stop.Token).ConfigureAwait(false);
                using var accept = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, holeStarted);
                var socket = await _socket.AcceptAsync(accept.Token).ConfigureAwait(false);
                socket.NoDelay = true;
                lock (_gate)
                {
                    // An accept that was already under way when the hole started may have taken the filler (or a
                    // client that came just before it) out of the queue: fill it again. Where the queue was still
                    // full, the new filler's SYN is dropped and it stays pending until the hole ends.
                    if (_holeEnded is not null && !_closed.IsCancellationRequested)
                    {
                        _fillers.Add(Fill());
                    }
                }

                // Served as a live socket: under the hole it is silent, as every live socket is.
                return _factory.Create(socket);
            }
            catch (OperationCanceledException) when (!stop.IsCancellationRequested)
            {
                // The black hole started during the accept: wait for its end.
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException
                                          || (e is SocketException s && s.SocketErrorCode == SocketError.OperationAborted))
            {
                // Unbound or disposed: no more connections.
                return null;
            }
            catch (SocketException)
            {
                // The connection was reset while it sat in the queue: take the next one.
            }
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        Close();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Close();
        _factory.Dispose();
        return ValueTask.CompletedTask;
    }

    private Socket Fill()
    {
        var filler = new Socket(_socket.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        var connect = filler.ConnectAsync(EndPoint);

        // Not waited for: ConnectAsync issues connect() on this thread, and on loopback the kernel completes the handshake
        // inside that call, so the accept queue is full when it returns. A connect still pending found the queue full
        // already (connections queued before the hole), which is the aim; it is dropped at the end of the hole, and its
        // failure then (or a refusal, when the listener was closed meanwhile) is observed here.
        _ = connect.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return filler;
    }

    private void Close()
    {
        List<Socket> fillers;
        lock (_gate)
        {
            if (_closed.IsCancellationRequested)
            {
                return;
            }

            _closed.Cancel();
            (fillers, _fillers) = (_fillers, []);
            _holeEnded?.TrySetResult();
        }

        fillers.ForEach(f => f.Dispose());
        _socket.Dispose();
    }
}

/// <summary>Binds every Kestrel endpoint of one emulated PBX host with an <see cref="EmulatedConnectionListener"/>.</summary>
internal sealed class EmulatedConnectionListenerFactory(ILoggerFactory loggers) : IConnectionListenerFactory
{
    private EmulatedConnectionListener? _listener;

    /// <summary>The listener once Kestrel has bound it; the host binds one endpoint only.</summary>
    public EmulatedConnectionListener? Listener => Volatile.Read(ref _listener);

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var listener = EmulatedConnectionListener.Bind(endpoint, loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets"));
        Volatile.Write(ref _listener, listener);
        return ValueTask.FromResult<IConnectionListener>(listener);
    }
}
