using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Innovaphone.Redundancy.Testing.Emulation;

/// <summary>
/// One Kestrel listener on 127.0.0.1 serving one simulated PBX: accepts the WebSocket upgrade on
/// <c>/{module}/APPCLIENT/{build}/websocket</c> and <c>/{module}/WEBSOCKET/websocket</c>, serves the emulated identity
/// provider's sign-in pages (<c>/sso/&lt;token&gt;</c>), keeps the PBX's emulator faults, and tracks its sockets.
/// </summary>
internal sealed partial class EmulatedPbxHost : IAsyncDisposable
{
    // RFC 6455 section 4.2.2: the key the Sec-WebSocket-Accept hash is computed with.
    private const string WebSocketGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>Where the emulated identity provider's sign-in pages live: <c>/sso/&lt;token&gt;</c>.</summary>
    private const string SignInPath = "/sso";

    private readonly PbxEmulator _emulator;
    private readonly object _gate = new();
    private readonly HashSet<EmulatedSocket> _sockets = [];
    private readonly CancellationTokenSource _stopping = new();
    private WebApplication? _app;
    private SimulatedPbx? _pbx;
    private EmulatedFault _fault;
    private bool _faultOnce;
    private SimulatedPbx? _forcedRedirect;
    private int? _twoFactorCode;
    private TaskCompletionSource _twoFactorConfirmed = NewSignal();
    private TaskCompletionSource? _halfOpenEnded;
    private bool _halfOpen;
    private bool _blackHole;
    private TimeSpan _linger;
    private EmulatedConnectionListenerFactory? _listeners;
    private bool _disposed;

    public EmulatedPbxHost(PbxEmulator emulator) => _emulator = emulator;

    public PbxEmulator Emulator => _emulator;

    public SimulatedPbxSystem System => _emulator.System;

    public PbxScheme Scheme => _emulator.Scheme;

    public int Port { get; private set; }

    /// <summary>Completes when the PBX is not (any more) half-open or black-holed; already complete while it answers normally.</summary>
    public Task Resumed
    {
        get
        {
            lock (_gate)
            {
                return _halfOpenEnded?.Task ?? Task.CompletedTask;
            }
        }
    }

    public SimulatedPbx? ForcedRedirect
    {
        get
        {
            lock (_gate)
            {
                return _forcedRedirect;
            }
        }
    }

    public int OpenSocketCount
    {
        get
        {
            lock (_gate)
            {
                return _sockets.Count;
            }
        }
    }

    /// <summary>Binds 127.0.0.1 on a free port and starts serving; requests are refused until <see cref="Serve"/>.</summary>
    /// <returns>The bound port.</returns>
    public async Task<int> StartAsync(CancellationToken cancellationToken)
    {
        // The empty builder reads no configuration: no appsettings.json or ASPNETCORE_URLS of the host process can add
        // endpoints, and no file watcher is made per PBX (inotify instances are few).
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddLogging();

        // Our own accept loop instead of Kestrel's socket transport, so that a black hole can leave SYNs unanswered.
        builder.Services.RemoveAll<IConnectionListenerFactory>();
        builder.Services.AddSingleton<IConnectionListenerFactory>(sp =>
            _listeners = new EmulatedConnectionListenerFactory(sp.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>()));

        // A test tool embedded in someone else's process: no Ctrl+C/SIGTERM handler that would keep the host
        // process alive by stopping only this listener.
        builder.Services.AddSingleton<IHostLifetime, QuietHostLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
        var certificate = _emulator.Certificate;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;

            // Port 0: the OS picks a free port, so parallel tests and other processes never collide.
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            });
        });

        _app = builder.Build();
        _app.Run(HandleAsync);
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        Port = new Uri(bound).Port;
        return Port;
    }

    /// <summary>From now on, answers as <paramref name="pbx"/> (created in the simulated system with this host's port).</summary>
    public void Serve(SimulatedPbx pbx) => Volatile.Write(ref _pbx, pbx);

    /// <summary>Closes every socket with a close handshake; completes when they have ended.</summary>
    public Task CloseAllAsync()
    {
        EmulatedSocket[] sockets;
        lock (_gate)
        {
            sockets = [.. _sockets];
        }

        foreach (var socket in sockets)
        {
            socket.RequestClose();
        }

        return Task.WhenAll(sockets.Select(s => s.Completion));
    }

    public async ValueTask DisposeAsync()
    {
        EmulatedSocket[] sockets;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            sockets = [.. _sockets];
        }

        // End the sockets first: Kestrel's stop waits for running requests, and a WebSocket request runs until its
        // socket ends. Each socket aborts itself on this signal, inside its request: an HttpContext must not be
        // touched from outside once its request may have ended (Kestrel reuses them).
        await _stopping.CancelAsync().ConfigureAwait(false);

        if (_app is not null)
        {
            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(5), TimeProvider.System);
            try
            {
                await _app.StopAsync(bound.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Kestrel aborts what is left when the bound is reached.
            }

            await _app.DisposeAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(sockets.Select(s => s.Completion)).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The URL of the emulated identity provider's sign-in page <paramref name="token"/>, on this listener.</summary>
    public Uri SignInPage(string token) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{(Scheme == PbxScheme.Wss ? "https" : "http")}://127.0.0.1:{Port}{SignInPath}/{token}"));

    private static bool IsEndpoint(PathString path, string module)
    {
        // /{module}/APPCLIENT/{build}/websocket, any build number, as a PBX accepts any client firmware build; and
        // /{module}/WEBSOCKET/websocket, which innovaphone's published OAuth2 client connects to by default.
        var parts = (path.Value ?? string.Empty).Split('/');
        return parts.Length is 4 or 5 && parts[0].Length == 0
            && string.Equals(parts[1], module, StringComparison.Ordinal)
            && string.Equals(parts[^1], "websocket", StringComparison.Ordinal)
            && (parts.Length == 4
                ? string.Equals(parts[2], "WEBSOCKET", StringComparison.Ordinal)
                : string.Equals(parts[2], "APPCLIENT", StringComparison.Ordinal) && parts[3].Length > 0 && parts[3].All(char.IsAsciiDigit));
    }

    /// <summary>A GET of a sign-in page: signs the emulator's sign-in user in, whatever state the PBX is in (the identity provider is another server).</summary>
    private async Task OpenSignInPageAsync(HttpContext context, string token)
    {
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        var (status, text) = _emulator.OpenSignInPage(token);
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync(
            $"<!DOCTYPE html><html><head><title>Emulated sign-in</title></head><body><p>{WebUtility.HtmlEncode(text)}</p></body></html>",
            context.RequestAborted).ConfigureAwait(false);
    }

    private static string? AcceptKey(HttpRequest request)
    {
        var upgrade = request.Headers.Upgrade.ToString();
        var key = request.Headers["Sec-WebSocket-Key"].ToString();
        if (!upgrade.Contains("websocket", StringComparison.OrdinalIgnoreCase)
            || request.Headers["Sec-WebSocket-Version"].ToString() != "13"
            || string.IsNullOrEmpty(key))
        {
            return null;
        }

#pragma warning disable CA5350 // RFC 6455 prescribes SHA-1 for the handshake; it protects nothing.
        return Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + WebSocketGuid)));
#pragma warning restore CA5350
    }

    private bool IsReachable(SimulatedPbx pbx)
    {
        lock (System.Gate)
        {
            return pbx.Alive && !pbx.ClientPartitioned;
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var pbx = Volatile.Read(ref _pbx);
        if (pbx is null)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            return;
        }

        if (context.Request.Path.StartsWithSegments(SignInPath, StringComparison.Ordinal, out var token))
        {
            await OpenSignInPageAsync(context, token.Value?.TrimStart('/') ?? string.Empty).ConfigureAwait(false);
            return;
        }

        if (!IsEndpoint(context.Request.Path, pbx.Address.Module))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        using var aborted = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        var answered = false;
        try
        {
            // A frozen PBX keeps TCP open but never answers the upgrade.
            await Resumed.WaitAsync(aborted.Token).ConfigureAwait(false);

            // A killed or cut-off PBX: the connection is reset before the upgrade, as a refused connection looks to
            // a WebSocket client. The simulator records the attempt.
            if (!IsReachable(pbx))
            {
                if (await System.AwaitAnswerAsync(pbx.Address, null, aborted.Token).ConfigureAwait(false) is not null)
                {
                    context.Abort();
                    return;
                }

                answered = true;
            }
        }
        catch (OperationCanceledException)
        {
            context.Abort();
            return;
        }

        var accept = AcceptKey(context.Request);
        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        if (accept is null || upgrade is null || !upgrade.IsUpgradableRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        context.Response.Headers.Connection = "Upgrade";
        context.Response.Headers.Upgrade = "websocket";
        context.Response.Headers["Sec-WebSocket-Accept"] = accept;
        var stream = await upgrade.UpgradeAsync().ConfigureAwait(false);

        // The PBX sends no PINGs of its own: a client's keepalive must work against a silent PBX too.
        var webSocket = WebSocket.CreateFromStream(
            new PausableStream(stream, this), new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero });
        var socket = new EmulatedSocket(this, pbx, webSocket, context, answered);
        lock (_gate)
        {
            if (_disposed)
            {
                socket.Abort();
                webSocket.Dispose();
                return;
            }

            _sockets.Add(socket);
        }

        try
        {
            await socket.RunAsync(_stopping.Token).ConfigureAwait(false);

            // A lingering PBX keeps the TCP connection after the close handshake (returning ends the request, and
            // Kestrel then closes it). The socket counts as open meanwhile; it reads nothing, as a server that has
            // finished with a connection does, and the emulator's stop ends the wait.
            var linger = Linger;
            if (socket.ClosedCleanly && linger > TimeSpan.Zero)
            {
                try
                {
                    // Real sockets, real time: the emulator serves Kestrel connections on the system clock.
                    await Task.Delay(linger, TimeProvider.System, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Stopping: close now.
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _sockets.Remove(socket);
            }

            webSocket.Dispose();
        }
    }

    /// <summary>Starts and stops with the calls of the emulator only; never reacts to console signals.</summary>
    private sealed class QuietHostLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
