using System.Net.Security;
using System.Net.WebSockets;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Security.Authentication;

namespace Innovaphone.Redundancy.Shared;

/// <summary>
/// Warms the failover path of the process once, in the background, after a manager's first login (issue 19 point 2):
/// the first failover of a process otherwise pays for the JIT of the code only a loss runs (loss handling, the machine's
/// loss transition, closing, the next connect, the framework's socket, TLS and WebSocket failure paths), 3-4 times the
/// time of the same failover a second time. It never touches a PBX: it compiles the library's own methods without
/// running them (<see cref="RuntimeHelpers.PrepareMethod(RuntimeMethodHandle)"/>, which is what their first call would
/// do), runs the framework's failure paths in memory (a WebSocket and a TLS client over canned streams, a stack trace
/// stored in an exception), and runs what only a real socket error reaches on loopback, against itself: one WebSocket
/// connection to a listener of its own on 127.0.0.1 (or ::1) that resets it under a pending receive, and one connect
/// that is refused, through an HTTP handler of its own, never the transport's shared one (best effort, bounded by
/// <see cref="LoopbackTimeout"/>). It stops as soon as its manager leaves Connected and Standby (a failover then runs
/// without it competing for the CPU), stops or is disposed; it runs once per process, not per manager.
/// </summary>
internal static partial class FailoverWarmUp
{
    /// <summary>0: not run yet; 1: running or done. Reset when a run is cancelled before its end, so that a later login finishes it.</summary>
    private static int s_state;

    /// <summary>How many times a warm-up ran to its end in this process (tests).</summary>
    private static int s_completed;

    /// <summary>
    /// Cancelled when a run ran to its end: every watcher then lets go of its manager's changes. Without it each manager
    /// created before the run ended kept its subscription (and the subscriber's channel, ~1.7 KiB) for its lifetime.
    /// </summary>
    private static CancellationTokenSource s_finished = new();

    /// <summary>What the last run that ran to its end did (tests).</summary>
    private static StrongBox<Outcome>? s_last;

    /// <summary>Runs that ran to their end in this process.</summary>
    internal static int Completed => Volatile.Read(ref s_completed);

    /// <summary>What the last run that ran to its end in this process did; null before the first.</summary>
    internal static Outcome? LastCompleted => Volatile.Read(ref s_last)?.Value;

    /// <summary>Forgets that a run ran, so that the next manager's login runs it again (tests of the watcher).</summary>
    internal static void Forget()
    {
        Volatile.Write(ref s_state, 0);
        if (Volatile.Read(ref s_finished).IsCancellationRequested)
        {
            Volatile.Write(ref s_finished, new CancellationTokenSource());
        }
    }

    /// <summary>
    /// Watches a manager's state changes: on its first Connected or Standby, starts the process's warm-up (unless one ran
    /// or runs already) as work of <paramref name="background"/>; cancels it when the manager leaves Connected and
    /// Standby or its changes complete (disposal, which ends the subscription too).
    /// </summary>
    /// <param name="stateChanges">The manager's state changes.</param>
    /// <param name="enabled">Whether the warm-up is on.</param>
    /// <param name="background">The manager's background work: stop and dispose wait for the warm-up's end.</param>
    /// <param name="time">The manager's clock, for <paramref name="delay"/>.</param>
    /// <param name="delay">
    /// How long the connection must have been up before the warm-up starts (the manager's <c>MinStableConnection</c>): a
    /// connection lost sooner fails over without the warm-up competing for the CPU, and the run waits for a stable one.
    /// </param>
    /// <param name="skipped">
    /// Told why, when a run reached its end but its loopback step could not run (no loopback address, a firewall, its
    /// bound): the first failover then compiles those paths itself. Null: not told.
    /// </param>
    public static void Watch(IObservable<RedundancyStateChange> stateChanges, bool enabled, BackgroundWork background, TimeProvider time, TimeSpan delay, Action<string>? skipped = null)
    {
        if (enabled && Volatile.Read(ref s_state) == 0)
        {
            var watcher = new Watcher(background, time, delay, skipped);
            var subscription = stateChanges.Subscribe(watcher);

            // Once the process is warm the watcher has nothing left to do: it unsubscribes (at once, if a run ended
            // between the check above and now). The manager's disposal drops the registration.
            watcher.Release(Volatile.Read(ref s_finished).Token.UnsafeRegister(static s => ((IDisposable)s!).Dispose(), subscription));
        }
    }

    /// <summary>
    /// The warm-up itself: compiles the methods of the library's types (and the framework's boxes of its async state
    /// machines), runs the framework's stored-stack-trace, TLS and WebSocket failure paths in memory, then the socket
    /// failure paths on loopback (<see cref="RunLoopbackAsync"/>). Checks <paramref name="cancellationToken"/> before
    /// each method and between steps.
    /// </summary>
    /// <returns>How many methods it compiled and what its loopback step ran.</returns>
    internal static async Task<Outcome> RunAsync(CancellationToken cancellationToken)
    {
        // Off the caller's thread at once: the state change that started it is delivered in order with others.
        await Task.Yield();
        var prepared = 0;
        foreach (var type in typeof(FailoverWarmUp).Assembly.GetTypes())
        {
            if (type.ContainsGenericParameters || type.Namespace?.StartsWith("Innovaphone.Redundancy.Softphone", StringComparison.Ordinal) == true)
            {
                continue;
            }

            prepared += Prepare(type, cancellationToken);

            // An async method's continuations and faults run in the framework's box of its state machine, a generic
            // instantiation over our type that only the JIT makes: prepared as well, where the runtime's layout is the
            // known one (otherwise skipped: the warm-up is best effort).
            if (type.IsAssignableTo(typeof(IAsyncStateMachine)) && StateMachineBox(type) is { } box)
            {
                prepared += Prepare(box, cancellationToken);
            }
        }
        cancellationToken.ThrowIfCancellationRequested();

        // The first exception that carries the stack trace of where it was stored (System.Net does that for errors it
        // keeps in a task, SslStream's among them) loads the stack trace machinery and reads the modules' debug
        // directories: tens of milliseconds, once per process.
        _ = ExceptionDispatchInfo.SetCurrentStackTrace(new IOException("warm-up")).StackTrace;
        cancellationToken.ThrowIfCancellationRequested();

        // A TLS client whose server goes away at once: SslStream's failure path (what a killed PBX looks like over wss).
        var tls = new SslStream(new CannedStream(empty: true));
        await using (tls.ConfigureAwait(false))
        {
            try
            {
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "warm-up.invalid" }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or AuthenticationException)
            {
                // Expected: the peer sent nothing.
            }
        }

        // A WebSocket whose peer sends one text message and goes away without a close: what a killed PBX looks like to
        // a receive loop. The framework's receive and close failure paths run on it as on a real connection (the
        // transport's own code on top of them is compiled above; the warm-up stays below the transport adapters, see
        // docs/concepts.md "Layers").
        using var socket = WebSocket.CreateFromStream(new CannedStream(empty: false), new WebSocketCreationOptions { KeepAliveInterval = TimeSpan.Zero });
        var buffer = new byte[1024];
        _ = await socket.ReceiveAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
        try
        {
            _ = await socket.ReceiveAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
            using var closing = new CancellationTokenSource(TimeSpan.FromSeconds(1), TimeProvider.System);
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "warm-up", closing.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // Expected: the peer closed without the close handshake.
        }

        // What only a real socket error reaches (the socket-error paths, the connection pool's failed connect, the
        // WebSocket's receive on a reset connection): run on loopback, against this process only.
        cancellationToken.ThrowIfCancellationRequested();
        var loopback = await RunLoopbackAsync(cancellationToken).ConfigureAwait(false);
        return new Outcome(prepared, loopback);
    }

    /// <summary>What a run did.</summary>
    /// <param name="Prepared">How many methods it compiled.</param>
    /// <param name="Loopback">What its loopback step ran.</param>
    internal readonly record struct Outcome(int Prepared, LoopbackOutcome Loopback);

    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Type? VoidTaskResult = typeof(Task).Assembly.GetType("System.Threading.Tasks.VoidTaskResult");

    /// <summary>Compiles the methods and constructors <paramref name="type"/> declares (not generic methods, not abstract ones).</summary>
    private static int Prepare(Type type, CancellationToken cancellationToken)
    {
        var instantiation = type.IsGenericType ? type.GetGenericArguments().Select(t => t.TypeHandle).ToArray() : null;
        var prepared = 0;
        foreach (var method in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            if (method.IsAbstract || method.IsGenericMethodDefinition || (method.MethodImplementationFlags & MethodImplAttributes.Runtime) != 0
                || method.GetMethodBody() is null)
            {
                continue;
            }

            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                RuntimeHelpers.PrepareMethod(method.MethodHandle, instantiation);
                prepared++;
            }
            catch (Exception e) when (e is ArgumentException or TypeLoadException or NotSupportedException or InvalidOperationException)
            {
                // A method the runtime will not compile ahead of its call: its first call compiles it, as without the warm-up.
            }
        }

        return prepared;
    }

    /// <summary>
    /// The box the framework runs <paramref name="stateMachine"/> in (<c>AsyncTaskMethodBuilder&lt;TResult&gt;.AsyncStateMachineBox&lt;TStateMachine&gt;</c>,
    /// or <c>PoolingAsyncValueTaskMethodBuilder&lt;TResult&gt;.StateMachineBox&lt;TStateMachine&gt;</c>); null where the builder is another.
    /// </summary>
    private static Type? StateMachineBox(Type stateMachine)
    {
        var builder = stateMachine.GetField("<>t__builder", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)?.FieldType;
        var result = builder is { IsGenericType: true } ? builder.GetGenericArguments()[0] : VoidTaskResult;
        var definition = builder is { IsGenericType: true } ? builder.GetGenericTypeDefinition() : builder;
        var (owner, name) = definition switch
        {
            _ when definition == typeof(AsyncTaskMethodBuilder) || definition == typeof(AsyncTaskMethodBuilder<>)
                || definition == typeof(AsyncValueTaskMethodBuilder) || definition == typeof(AsyncValueTaskMethodBuilder<>) => (typeof(AsyncTaskMethodBuilder<>), "AsyncStateMachineBox`1"),
            _ when definition == typeof(PoolingAsyncValueTaskMethodBuilder) || definition == typeof(PoolingAsyncValueTaskMethodBuilder<>) => (typeof(PoolingAsyncValueTaskMethodBuilder<>), "StateMachineBox`1"),
            _ => (null, null),
        };
        if (owner is null || result is null || owner.GetNestedType(name!, BindingFlags.NonPublic) is not { } box)
        {
            return null;
        }

        try
        {
            return box.MakeGenericType(result, stateMachine);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }


    /// <summary>
    /// One manager's part: starts the process's run when the manager is Connected or Standby and no run ran or runs,
    /// cancels it when the manager leaves those states (a later Connected starts what is left again).
    /// </summary>
    private sealed class Watcher(BackgroundWork background, TimeProvider time, TimeSpan delay, Action<string>? skipped) : IObserver<RedundancyStateChange>
    {
        private readonly object _gate = new();
        private CancellationTokenSource? _run;
        private CancellationTokenRegistration _release;
        private bool _completed;

        /// <summary>Keeps the registration that unsubscribes the watcher when a run ends, to drop it when the manager ends first.</summary>
        public void Release(CancellationTokenRegistration release)
        {
            lock (_gate)
            {
                if (!_completed)
                {
                    _release = release;
                    return;
                }
            }

            release.Dispose();
        }

        public void OnNext(RedundancyStateChange value)
        {
            lock (_gate)
            {
                if (value.Current is not (RedundancyState.Connected or RedundancyState.Standby))
                {
                    // A loss, a stop: a run in progress stops at its next step, so that it never competes with a failover.
                    _run?.Cancel();
                    return;
                }

                if (_run is null && !_completed && Interlocked.CompareExchange(ref s_state, 1, 0) == 0)
                {
                    var run = new CancellationTokenSource();
                    _run = run;
                    background.Add(RunOnceAsync(run));
                }
            }
        }

        public void OnCompleted()
        {
            CancellationTokenRegistration release;
            lock (_gate)
            {
                _completed = true;
                _run?.Cancel();
                release = _release;
                _release = default;
            }

            release.Dispose();
        }

        public void OnError(Exception error) => OnCompleted();

        private async Task RunOnceAsync(CancellationTokenSource run)
        {
            try
            {
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, time, run.Token).ConfigureAwait(false);
                }

                var outcome = await RunAsync(run.Token).ConfigureAwait(false);
                if (outcome.Loopback.Skipped is { } reason)
                {
                    skipped?.Invoke(reason);
                }

                Volatile.Write(ref s_last, new StrongBox<Outcome>(outcome));
                Interlocked.Increment(ref s_completed);
                await Volatile.Read(ref s_finished).CancelAsync().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (run.IsCancellationRequested)
            {
                // Left for a later login (of this manager or another) to finish.
                Volatile.Write(ref s_state, 0);
            }
            finally
            {
                lock (_gate)
                {
                    _run = null;
                    run.Dispose();
                }
            }
        }
    }

    /// <summary>
    /// The server side of a connection, canned: one unmasked text frame <c>{"mt":"Ping"}</c>, then the end of the stream
    /// (the peer went away). Writes are accepted and dropped.
    /// </summary>
    /// <param name="empty">True: the end of the stream at once (no frame).</param>
    private sealed class CannedStream(bool empty) : Stream
    {
        private static readonly byte[] Frame = [0x81, 13, .. "{\"mt\":\"Ping\"}"u8];
        private int _position = empty ? Frame.Length : 0;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, Frame.Length - _position);
            Frame.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Write(byte[] buffer, int offset, int count)
        {
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
