using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;

namespace Innovaphone.Redundancy.Tests.Transport;

/// <summary>
/// Two ends of one real WebSocket over loopback TCP, without HTTP: both are made with
/// <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/>, the client end for the code under test, the
/// PBX end for the test to script. No keep-alive on either. Dispose aborts both ends and releases the TCP connection.
/// </summary>
internal sealed class LoopbackWebSocketPair : IDisposable
{
    private readonly TcpClient _clientTcp;
    private readonly TcpClient _pbxTcp;
    private int _disposed;

    private LoopbackWebSocketPair(TcpClient clientTcp, TcpClient pbxTcp)
    {
        _clientTcp = clientTcp;
        _pbxTcp = pbxTcp;
        Client = WebSocket.CreateFromStream(clientTcp.GetStream(), new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
        Pbx = WebSocket.CreateFromStream(pbxTcp.GetStream(), new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
    }

    /// <summary>The client end.</summary>
    public WebSocket Client { get; }

    /// <summary>The PBX end.</summary>
    public WebSocket Pbx { get; }

    /// <summary>Connects a new pair.</summary>
    public static async Task<LoopbackWebSocketPair> OpenAsync(CancellationToken cancellationToken)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var client = new TcpClient();
        try
        {
            var accept = listener.AcceptTcpClientAsync(cancellationToken).AsTask();
            await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port, cancellationToken);
            return new LoopbackWebSocketPair(client, await accept);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Aborts both ends (nothing waits for a close reply) and closes the TCP connection.</summary>
    public void Abort()
    {
        Pbx.Abort();
        Client.Abort();
    }

    /// <summary>Aborts both ends and releases everything; a second call does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Abort();
        Pbx.Dispose();
        Client.Dispose();
        _clientTcp.Dispose();
        _pbxTcp.Dispose();
    }
}
