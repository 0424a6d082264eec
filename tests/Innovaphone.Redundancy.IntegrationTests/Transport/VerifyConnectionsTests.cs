using System.Diagnostics;
using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Transport;

/// <summary>
/// R14 at the transport: <see cref="MyAppsWebSocketTransport.VerifyConnections"/> PINGs every socket of the transport at
/// once, over real loopback WebSockets to the emulator; a PBX that answers keeps its connection (a two-factor wait
/// included), a frozen one loses it within <see cref="MyAppsTransportOptions.VerifyTimeout"/>. Real time, on both runtimes.
/// </summary>
[Trait("Category", "Integration")]
public sealed class VerifyConnectionsTests : IAsyncLifetime
{
    private const string User = "carol";
    private const string Password = "v3rify-Pa55";
    private static readonly TimeSpan VerifyTimeout = TimeSpan.FromMilliseconds(400);
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);
    private readonly PbxEmulator _emulator = new();
    private MyAppsWebSocketTransport _transport = null!;
    private SimulatedPbx _pbx = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _pbx = await _emulator.AddMasterAsync(cancellationToken: Ct);
        _emulator.System.AddUser(User, Password, _pbx);

        // The keepalive's own interval is far away: whatever ends a connection here is the verify.
        _transport = new MyAppsWebSocketTransport(new MyAppsTransportOptions
        {
            Username = User,
            Password = Password,
            AllowInsecure = true,
            KeepAliveInterval = TimeSpan.FromMinutes(1),
            KeepAliveTimeout = TimeSpan.FromMinutes(1),
            VerifyTimeout = VerifyTimeout,
            OnAuthorize = _ => { },
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _transport.DisposeAsync();
        RunSecrets.AddSecrets([Password, .. _emulator.SecretsSeen]);
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task FrozenPbx_LosesTheConnectionWithinTheVerifyTimeout()
    {
        var connection = await LogInAsync();
        _emulator.SetHalfOpen(_pbx, true);

        var start = Stopwatch.GetTimestamp();
        _transport.VerifyConnections();
        var loss = await connection.Lost.WaitAsync(Guard, Ct);

        Stopwatch.GetElapsedTime(start).Should().BeGreaterThanOrEqualTo(VerifyTimeout - TimeSpan.FromMilliseconds(20));
        loss.Kind.Should().Be(ConnectionLossKind.Closed);
        loss.Reason.Should().Contain("no answer to a PING within 00:00:00.4000000");
    }

    [Fact]
    public async Task LivePbx_AnswersTheVerify_AndKeepsTheConnection()
    {
        var connection = await LogInAsync();

        _transport.VerifyConnections();
        await Task.Delay(VerifyTimeout * 3, Ct);

        connection.Lost.IsCompleted.Should().BeFalse();
    }

    [Fact]
    public async Task TwoFactorWait_AnsweredVerify_LetsTheLoginGoOn()
    {
        var login = await WaitingForTwoFactorAsync();

        _transport.VerifyConnections();
        await Task.Delay(VerifyTimeout * 3, Ct);
        login.IsCompleted.Should().BeFalse("the PING decides, and the PBX answered it");
        _emulator.ConfirmTwoFactor(_pbx);

        var outcome = await login.WaitAsync(Guard, Ct);
        await outcome.Should().BeOfType<LoggedIn>().Which.Connection.DisposeAsync();
    }

    [Fact]
    public async Task TwoFactorWait_FrozenPath_TheVerifyEndsTheAttempt()
    {
        var login = await WaitingForTwoFactorAsync();
        _emulator.SetHalfOpen(_pbx, true);

        _transport.VerifyConnections();

        (await login.WaitAsync(Guard, Ct)).Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.Unreachable);
    }

    private async Task<Task<LoginOutcome>> WaitingForTwoFactorAsync()
    {
        _emulator.RequireTwoFactor(_pbx, 4711);
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = new Progress(p =>
        {
            if (p == PbxLoginProgress.AwaitingAuthorization)
            {
                waiting.TrySetResult();
            }
        });
        var login = _transport.ConnectAsync(new PbxLoginRequest(_pbx.Address, PbxScheme.Ws, 1) { Progress = progress }, Ct).AsTask();
        await waiting.Task.WaitAsync(Guard, Ct);
        return login;
    }

    private async Task<IPbxConnection> LogInAsync()
    {
        var outcome = await _transport.ConnectAsync(new PbxLoginRequest(_pbx.Address, PbxScheme.Ws, 1), Ct);
        return outcome.Should().BeOfType<LoggedIn>().Which.Connection;
    }

    private sealed class Progress(Action<PbxLoginProgress> report) : IProgress<PbxLoginProgress>
    {
        public void Report(PbxLoginProgress value) => report(value);
    }
}
