using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.AspNetCore.Http;

namespace Innovaphone.Redundancy.Testing.Emulation;

/// <summary>
/// The PBX side of one myApps WebSocket (PROTOCOL.md "Login"), answering as the simulated system decides.
/// </summary>
/// <remarks>
/// Run to completion: the client's frames, the end of the simulated login (kill, StandbyBack, logout) and close
/// requests are events in one channel, handled one at a time by <see cref="RunAsync"/>; only the receive loop runs
/// beside it. Waits inside a handler (the PBX's login delay, two-factor) end when the client goes away, so that the
/// simulator records an abandoned attempt as the in-memory transport does.
/// </remarks>
internal sealed partial class EmulatedSocket
{
    // Clients send small frames; a larger one is a client bug or an attack, and a PBX would drop it.
    private const int MaxClientFrameBytes = 64 * 1024;

    private readonly EmulatedPbxHost _host;
    private readonly SimulatedPbx _pbx;
    private readonly WebSocket _webSocket;
    private readonly HttpContext _context;
    private readonly Channel<object> _events = Channel.CreateUnbounded<object>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _answered;
    private string? _pendingType;
    private string? _challenge;
    private PendingSignIn? _signIn;
    private SimulatedConnection? _connection;
    private Task _receiving = Task.CompletedTask;
    private CancellationToken _stopping;
    private CancellationToken _token;

    public EmulatedSocket(EmulatedPbxHost host, SimulatedPbx pbx, WebSocket webSocket, HttpContext context, bool answered)
    {
        _host = host;
        _pbx = pbx;
        _webSocket = webSocket;
        _context = context;
        _answered = answered;
    }

    /// <summary><see langword="true"/> once the socket has ended with a completed close handshake (not aborted).</summary>
    public bool ClosedCleanly { get; private set; }

    /// <summary>Completes when the socket has ended and its simulated login is released.</summary>
    public Task Completion => _completion.Task;

    private PbxEmulatorOptions Options => _host.Emulator.Options;

    /// <summary>Asks for a close handshake started by the PBX (a graceful close, not a failure).</summary>
    public void RequestClose() => _events.Writer.TryWrite(CloseRequested.Instance);

    /// <summary>
    /// Ends the TCP connection without a close handshake, as a dying PBX or a cut cable does. Only while the request
    /// runs: from <see cref="RunAsync"/> or before it.
    /// </summary>
    public void Abort()
    {
        _webSocket.Abort();
        _context.Abort();
    }

    public async Task RunAsync(CancellationToken stopping)
    {
        // Cancelled by the receive loop when the client goes: ends the waits inside a handler.
        using var clientGone = new CancellationTokenSource();
        using var token = CancellationTokenSource.CreateLinkedTokenSource(stopping, clientGone.Token);
        _stopping = stopping;
        _token = token.Token;
        _receiving = ReceiveLoopAsync(clientGone, stopping);
        try
        {
            await foreach (var e in _events.Reader.ReadAllAsync(stopping).ConfigureAwait(false))
            {
                if (!await HandleAsync(e).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            // The socket died or the emulator stops: nothing is left to answer.
        }
        finally
        {
            ForgetSignIn();
            await ReleaseConnectionAsync().ConfigureAwait(false);
            ClosedCleanly = _webSocket.State == WebSocketState.Closed;
            if (!ClosedCleanly)
            {
                Abort();
            }

            await _receiving.ConfigureAwait(false);
            _completion.TrySetResult();
        }
    }

    private async Task ReceiveLoopAsync(CancellationTokenSource clientGone, CancellationToken stopping)
    {
        var buffer = new byte[4096];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _webSocket.ReceiveAsync(buffer.AsMemory(), stopping).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                message.Write(buffer, 0, result.Count);
                if (message.Length > MaxClientFrameBytes)
                {
                    Abort();
                    break;
                }

                if (!result.EndOfMessage)
                {
                    continue;
                }

                // myApps is text only; a binary frame from the client is dropped, as a PBX ignores what it cannot parse.
                if (result.MessageType == WebSocketMessageType.Text)
                {
                    _events.Writer.TryWrite(new ClientText(message.ToArray()));
                }

                message.SetLength(0);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            // Reset, abort or shutdown: the client is gone either way.
        }
        finally
        {
            await clientGone.CancelAsync().ConfigureAwait(false);
            _events.Writer.TryWrite(ClientGone.Instance);
        }
    }

    /// <summary>Handles one event; <see langword="false"/> ends the socket.</summary>
    private async Task<bool> HandleAsync(object e)
    {
        switch (e)
        {
            case ClientText text:
                return await OnTextAsync(text.Utf8).ConfigureAwait(false);
            case PbxLost lost when ReferenceEquals(lost.Connection, _connection):
                return await OnLostAsync(lost.Loss).ConfigureAwait(false);
            case PbxLost:
                // The end of a login this socket has already let go of.
                return true;
            case SignedIn signedIn:
                return await OnSignedInAsync(signedIn).ConfigureAwait(false);
            case PbxWentDown when _signIn is not null:
                // A dead PBX answers no sign-in: the connection dies with it.
                Abort();
                return false;
            case PbxWentDown:
                return true;
            case CloseRequested:
                await CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "closed by the PBX").ConfigureAwait(false);
                return false;
            default:
                // ClientGone: release the login (or pending sign-in) first, so that it is gone once the client's close
                // completes; then answer a close handshake the client started.
                ForgetSignIn();
                await ReleaseConnectionAsync().ConfigureAwait(false);
                if (_webSocket.State == WebSocketState.CloseReceived)
                {
                    await CloseOutputAsync(WebSocketCloseStatus.NormalClosure, string.Empty).ConfigureAwait(false);
                }

                return false;
        }
    }

    private async Task<bool> OnLostAsync(ConnectionLoss loss)
    {
        switch (loss.Kind)
        {
            case ConnectionLossKind.StandbyBack:
                await SendAsync(EmulatorMessages.Mt("StandbyBack")).ConfigureAwait(false);
                await CloseAsync(WebSocketCloseStatus.NormalClosure, "StandbyBack").ConfigureAwait(false);
                return false;
            case ConnectionLossKind.LoggedOut:
                await SendAsync(EmulatorMessages.Mt("LogoutResult")).ConfigureAwait(false);
                await CloseAsync(WebSocketCloseStatus.NormalClosure, "logged out").ConfigureAwait(false);
                return false;
            case ConnectionLossKind.ClosedByClient:
                return false;
            default:
                // Killed, cut off or the system disposed: the TCP connection just dies.
                Abort();
                return false;
        }
    }

    private async Task<bool> OnTextAsync(byte[] utf8)
    {
        JsonDocument document;
        try
        {
            // Well-formed JSON may still hold text that does not decode (an escaped lone surrogate): reading a field of
            // it would throw out of this socket's loop. Dropped like malformed JSON.
            if (!JsonText.IsDecodable(utf8))
            {
                await CloseAsync(WebSocketCloseStatus.InvalidPayloadData, "undecodable text").ConfigureAwait(false);
                return false;
            }

            document = JsonDocument.Parse(utf8);
        }
        catch (JsonException)
        {
            // A PBX drops a client that does not speak the protocol.
            await CloseAsync(WebSocketCloseStatus.InvalidPayloadData, "malformed JSON").ConfigureAwait(false);
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            switch (root.ValueKind == JsonValueKind.Object ? GetString(root, "mt") : null)
            {
                case "LoginInfo":
                    // A PBX before 13r3 does not know the message and answers nothing.
                    var methods = _pbx.LoginMethods;
                    if (methods.AnswersLoginInfo)
                    {
                        await SendAsync(EmulatorMessages.LoginInfoResult(methods)).ConfigureAwait(false);
                    }

                    return true;
                case "Login":
                    return await OnLoginAsync(root).ConfigureAwait(false);
                case "Logout" when _connection is { } connection:
                    // Ends every session of the user; this socket answers with LogoutResult when its login ends.
                    _host.System.Logout(connection.User.Name);
                    return true;
                case null:
                    await CloseAsync(WebSocketCloseStatus.InvalidPayloadData, "no mt").ConfigureAwait(false);
                    return false;
                default:
                    // Messages for apps or before login: nothing this emulator has to answer.
                    return true;
            }
        }
    }

    /// <summary>The secret the answer is signed with: the login's, or a wrong one under <see cref="EmulatedFault.ForgedDigest"/>.</summary>
    private string SignatureSecret(Proof proof) =>
        _host.TakeFault(f => f == EmulatedFault.ForgedDigest) == EmulatedFault.None ? proof.Secret : proof.Secret + "-forged";

    private async ValueTask ReleaseConnectionAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task ForwardLossAsync(SimulatedConnection connection)
    {
        var loss = await connection.Lost.ConfigureAwait(false);
        _events.Writer.TryWrite(new PbxLost(connection, loss));
    }

    private async Task SendAsync(byte[] frame, WebSocketMessageType type = WebSocketMessageType.Text)
    {
        // A half-open PBX sends nothing until it is resumed.
        await _host.Resumed.WaitAsync(_token).ConfigureAwait(false);
        await _webSocket.SendAsync(frame, type, endOfMessage: true, _token).ConfigureAwait(false);
    }

    /// <summary>Starts the close handshake and waits, bounded, for the client's answer; aborts when it does not come.</summary>
    private async Task CloseAsync(WebSocketCloseStatus status, string description)
    {
        await _host.Resumed.WaitAsync(_token).ConfigureAwait(false);

        // Real sockets, real time: the emulator has no clock of its own, so its close timeout says which one it uses.
        using var timeout = new CancellationTokenSource(Options.CloseTimeout, TimeProvider.System);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(_stopping, timeout.Token);
        try
        {
            await _webSocket.CloseOutputAsync(status, description, bound.Token).ConfigureAwait(false);
            await _receiving.WaitAsync(bound.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException)
        {
            Abort();
        }
    }

    private async Task CloseOutputAsync(WebSocketCloseStatus status, string description)
    {
        using var timeout = new CancellationTokenSource(Options.CloseTimeout, TimeProvider.System);
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(_stopping, timeout.Token);
        try
        {
            await _webSocket.CloseOutputAsync(status, description, bound.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException)
        {
            Abort();
        }
    }

    /// <summary>8 random bytes as 16 hex characters, as innovaphone's published login flow shows them.</summary>
    private static string NewChallenge() => MyAppsCrypto.ToLowerHex(RandomNumberGenerator.GetBytes(8));

    private static string? GetString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static class LoginTypes
    {
        public const string User = "user";
        public const string Session = "session";
    }

    /// <summary>
    /// What the client proved in its digest Login, or what a sign-in agreed (the ECDHE shared secret, with the PBX's
    /// <paramref name="KeyShare"/>); the PBX signs its answer, and encrypts the session, with the same.
    /// </summary>
    private sealed record Proof(string Type, string Username, string Nonce, string Challenge, string Secret, string? KeyShare);

    private sealed record ClientText(byte[] Utf8);

    private sealed record PbxLost(SimulatedConnection Connection, ConnectionLoss Loss);

    private sealed class ClientGone
    {
        public static ClientGone Instance { get; } = new();
    }

    private sealed class CloseRequested
    {
        public static CloseRequested Instance { get; } = new();
    }
}
