using System.Net.WebSockets;
using System.Text;
using FluentAssertions;
using Innovaphone.Redundancy.Tests.Transport;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Fuzzing;

/// <summary>
/// The receive path after login (<see cref="MyAppsConnection"/>) is socket-bound, so it is fuzzed through a loopback
/// WebSocket pair (the pattern of <see cref="MyAppsWebSocketTransportTests"/>): a scripted PBX logs the client in,
/// then sends generated frames. Every frame that is a valid WebSocket text message and not StandbyBack or
/// LogoutResult must be published to <see cref="MyAppsConnection.Messages"/> and leave the connection up; the run
/// ends with a StandbyBack, which must end it as such. Count: <c>FUZZ_SOCKET_FRAMES</c> (default 500).
/// </summary>
public sealed class PostLoginFuzzTests
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task MyAppsConnection_FuzzedFramesAfterLogin_ArePublishedAndKeepTheConnection()
    {
        var ct = TestContext.Current.CancellationToken;
        var frames = FuzzSettings.FrameCount("FUZZ_SOCKET_FRAMES", 500);
        var seed = FuzzSettings.Seed() + 2;
        var generator = new FrameGenerator(new Random(seed));
        var context = new FuzzLoginContext("user", "alice", "secret", LoginFrames.Nonce, LoginFrames.Domain, LoginFrames.Challenge);
        var strictUtf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);

        using var pair = await LoopbackWebSocketPair.OpenAsync(ct);
        var (client, pbx) = (pair.Client, pair.Pbx);
        var options = new MyAppsTransportOptions
        {
            Username = "alice",
            Password = "secret",
            UserAgent = "UA",
            TimeProvider = new FakeTimeProvider(),
            RandomSource = LoginFrames.PinnedRandom,
        };
        await using var transport = new MyAppsWebSocketTransport(options, (_, _) => ValueTask.FromResult(client));

        var login = transport.ConnectAsync(new PbxLoginRequest(PbxAddress.Parse("master.example.com/PBX0"), PbxScheme.Wss, 1), ct).AsTask();
        var buffer = new byte[64 * 1024];
        await pbx.ReceiveAsync(new ArraySegment<byte>(buffer), ct).WaitAsync(Hang, ct);
        await SendAsync(pbx, Encoding.UTF8.GetBytes(LoginFrames.LoginInfoResult()), ct);
        await pbx.ReceiveAsync(new ArraySegment<byte>(buffer), ct).WaitAsync(Hang, ct);
        await SendAsync(pbx, Encoding.UTF8.GetBytes(LoginFrames.Authenticate()), ct);
        await pbx.ReceiveAsync(new ArraySegment<byte>(buffer), ct).WaitAsync(Hang, ct);
        await SendAsync(pbx, Encoding.UTF8.GetBytes(LoginFrames.LoginResult("{}")), ct);
        var connection = (MyAppsConnection)(await login.WaitAsync(Hang, ct)).Should().BeOfType<LoggedIn>().Subject.Connection;

        var published = new SemaphoreSlim(0);
        using var subscription = connection.Messages.Subscribe(_ => published.Release());
        var sent = 0;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (sent < frames)
        {
            var input = generator.NextText(context);
            var text = Encoding.UTF8.GetString(input.Frame);
            if (text.Contains("StandbyBack", StringComparison.Ordinal) || text.Contains("LogoutResult", StringComparison.Ordinal)
                || input.Frame.Length > options.MaxFrameBytes || !IsUtf8(strictUtf8, input.Frame))
            {
                // Those end the connection by design (RFC 6455 fails a text frame that is not UTF-8).
                continue;
            }

            sent++;
            await SendAsync(pbx, input.Frame, ct);
            var publish = published.WaitAsync(Hang, ct);
            var first = await Task.WhenAny(publish, connection.Lost);
            if (first == connection.Lost || connection.Lost.IsCompleted)
            {
                var loss = await connection.Lost;
                Assert.Fail($"FUZZ_SEED={FuzzSettings.Seed()} (socket seed {seed}): frame #{sent} ended the connection ({loss.Kind}: {loss.Reason})\n  {input.Describe()}");
            }

            (await publish).Should().BeTrue($"frame #{sent} must be published: {input.Describe()}");
        }

        await SendAsync(pbx, "{\"mt\":\"StandbyBack\"}"u8.ToArray(), ct);
        (await connection.Lost.WaitAsync(Hang, ct)).Kind.Should().Be(ConnectionLossKind.StandbyBack);
        FuzzSettings.Report($"fuzzed {sent} frames after login over a loopback WebSocket in {watch.Elapsed.TotalSeconds:F1} s (FUZZ_SEED={FuzzSettings.Seed()})");
        pbx.Abort();
    }

    private static bool IsUtf8(UTF8Encoding strict, byte[] frame)
    {
        try
        {
            strict.GetCharCount(frame);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private static Task SendAsync(WebSocket socket, byte[] frame, CancellationToken ct) =>
        socket.SendAsync(frame, WebSocketMessageType.Text, true, ct).WaitAsync(Hang, ct);
}
