using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Integration;

/// <summary>
/// The WebSocket transport against the emulator's protocol faults: what a PBX (or a man in the middle) may send
/// that must never end in a login, and the faults that must end in a clean failed attempt.
/// </summary>
[Trait("Category", "Integration")]
public sealed class LoopbackProtocolTests : IAsyncLifetime
{
    private readonly LoopbackHarness _h = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _h.DisposeAsync();

    [Fact]
    public async Task ForgedLoginResultDigest_IsRefused()
    {
        var pbx = await SinglePbxAsync();
        _h.Emulator.SetFault(pbx, EmulatedFault.ForgedDigest);
        await using var transport = new MyAppsWebSocketTransport(_h.TransportOptions());

        var outcome = await LoopbackHarness.ConnectOnceAsync(transport, pbx, PbxScheme.Ws);

        outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.ForgedDigest);
        transport.Session.Should().BeNull("nothing from an unverified LoginResult is kept");
    }

    [Fact]
    public async Task ForgedRedirectDigest_IsRefused()
    {
        var master = await _h.Emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        var slave = await _h.Emulator.AddSlaveAsync(master, cancellationToken: TestContext.Current.CancellationToken);
        _h.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, slave);
        _h.Emulator.SetFault(master, EmulatedFault.ForgedDigest);
        await using var transport = new MyAppsWebSocketTransport(_h.TransportOptions());

        var outcome = await LoopbackHarness.ConnectOnceAsync(transport, master, PbxScheme.Ws);

        outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.ForgedDigest);
    }

    [Fact]
    public async Task ForgedDigest_ThroughTheManager_FailsOver_ThenRecoversWhenTheFaultEnds()
    {
        var pbx = await SinglePbxAsync();
        _h.Emulator.SetFault(pbx, EmulatedFault.ForgedDigest, nextLoginOnly: true);
        await _h.StartAsync(pbx);

        await _h.WaitUpAsync(pbx);

        _h.Logs.Should().Contain(l => l.Id.Id == Log.AttemptFailedId && l.Message.Contains("ForgedDigest", StringComparison.Ordinal));
        _h.Changes.Should().Contain(c => c.Current == RedundancyState.Failover);
    }

    [Fact]
    public async Task RedirectLoop_IsRefused_AndNeverLogsIn()
    {
        var a = await _h.Emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        var b = await _h.Emulator.AddSlaveAsync(a, cancellationToken: TestContext.Current.CancellationToken);
        _h.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, a);
        _h.Emulator.ForceRedirect(a, b);
        _h.Emulator.ForceRedirect(b, a);
        await _h.StartAsync(a);

        await _h.WaitForStateAsync(RedundancyState.Failover);

        _h.LogEventIds().Should().Contain(Log.RedirectRefusedId);
        _h.Manager.ConnInfo.Up.Should().BeFalse();
        _h.AttemptedPbxes().Take(2).Should().Equal(a.Address, b.Address);
    }

    [Fact]
    public async Task OversizedFrame_FailsTheAttempt()
    {
        var pbx = await SinglePbxAsync();
        _h.Emulator.SetFault(pbx, EmulatedFault.OversizedFrame);
        await using var transport = new MyAppsWebSocketTransport(_h.TransportOptions() with { MaxFrameBytes = 64 * 1024 });

        var outcome = await LoopbackHarness.ConnectOnceAsync(transport, pbx, PbxScheme.Ws);

        outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.ProtocolError);
    }

    [Theory]
    [InlineData(EmulatedFault.MalformedJson)]
    [InlineData(EmulatedFault.BinaryFrame)]
    public async Task GarbageFrame_FailsTheAttempt(EmulatedFault fault)
    {
        var pbx = await SinglePbxAsync();
        _h.Emulator.SetFault(pbx, fault);
        await using var transport = new MyAppsWebSocketTransport(_h.TransportOptions());

        var outcome = await LoopbackHarness.ConnectOnceAsync(transport, pbx, PbxScheme.Ws);

        outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.ProtocolError);
    }

    [Fact]
    public async Task GarbageOnTheNextLogin_ThroughTheManager_IsOneFailedAttempt()
    {
        var pbx = await SinglePbxAsync();
        _h.Emulator.SetFault(pbx, EmulatedFault.MalformedJson, nextLoginOnly: true);
        await _h.StartAsync(pbx);

        await _h.WaitUpAsync(pbx);

        _h.Logs.Count(l => l.Id.Id == Log.AttemptFailedId).Should().Be(1);
    }

    [Fact]
    public async Task TwoFactor_AuthorizeCodeIsShown_AndTheLoginCompletesAfterConfirmation()
    {
        var pbx = await SinglePbxAsync();
        _h.Emulator.RequireTwoFactor(pbx, 4711);
        var shown = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var transport = new MyAppsWebSocketTransport(_h.TransportOptions() with
        {
            OnAuthorize = code =>
            {
                shown.TrySetResult(code);
                _h.Emulator.ConfirmTwoFactor(pbx);
            },
        });

        var outcome = await LoopbackHarness.ConnectOnceAsync(transport, pbx, PbxScheme.Ws);

        outcome.Should().BeOfType<LoggedIn>();
        (await shown.Task.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken)).Should().Be(4711);
        await ((LoggedIn)outcome).Connection.DisposeAsync();
    }

    [Fact]
    public async Task HangingPbx_AttemptTimesOut_AndTheEmulatorSeesTheAbandonedLogin()
    {
        var pbx = await SinglePbxAsync();
        _h.Sim.SetHanging(pbx, true);
        await using var transport = new MyAppsWebSocketTransport(_h.TransportOptions() with { LoginTimeout = TimeSpan.FromMilliseconds(300) });

        var outcome = await LoopbackHarness.ConnectOnceAsync(transport, pbx, PbxScheme.Ws);

        outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.Timeout);
        await _h.WaitUntilAsync(() => _h.Sim.Attempts.Any(a => a.Outcome == SimulatedAttemptOutcome.Abandoned), "the abandoned attempt recorded");
    }

    [Fact]
    public async Task KilledPbx_IsUnreachable()
    {
        var pbx = await SinglePbxAsync();
        _h.Sim.Kill(pbx);
        await using var transport = new MyAppsWebSocketTransport(_h.TransportOptions());

        var outcome = await LoopbackHarness.ConnectOnceAsync(transport, pbx, PbxScheme.Ws);

        outcome.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.Unreachable);
        _h.Sim.Attempts.Should().ContainSingle().Which.Outcome.Should().Be(SimulatedAttemptOutcome.Unreachable);
    }

    [Fact]
    public async Task EmulatorDispose_EndsTheClientsConnection_AndLeavesNoSocket()
    {
        var pbx = await SinglePbxAsync();
        await using var transport = new MyAppsWebSocketTransport(_h.TransportOptions());
        var outcome = await LoopbackHarness.ConnectOnceAsync(transport, pbx, PbxScheme.Ws);
        var connection = outcome.Should().BeOfType<LoggedIn>().Which.Connection;
        _h.Emulator.OpenSocketCount.Should().Be(1);

        await _h.Emulator.DisposeAsync();

        var loss = await connection.Lost.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        loss.Kind.Should().Be(ConnectionLossKind.Closed);
        _h.Emulator.OpenSocketCount.Should().Be(0);
        _h.Sim.LiveConnectionCount.Should().Be(0);
        await connection.DisposeAsync();
    }

    private async Task<SimulatedPbx> SinglePbxAsync()
    {
        var pbx = await _h.Emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        _h.Sim.AddUser(LoopbackHarness.User, LoopbackHarness.Password, pbx);
        return pbx;
    }
}
