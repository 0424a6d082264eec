using System.Collections.Concurrent;
using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Docs;

/// <summary>
/// The examples of docs/testing.md, as tests: what the page shows compiles against the packages' API and passes.
/// </summary>
public sealed class TestingGuideExampleTests
{
    // <simulator>
    [Fact]
    public async Task UserOnTheSlave_FollowsTheRedirect_ThenStandsByAtTheMaster_ThenGoesHome()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
        using var sim = new SimulatedPbxSystem(time);
        var master = sim.AddMaster("master.example.com");
        var slave = sim.AddSlave("slave.example.com", master);
        sim.AddUser("alice", "secret", home: slave);

        await using var manager = new RedundancyManager(new RedundancyOptions
        {
            Primary = master.Address,                    // configured at the master, lives on the slave
            Transport = sim.CreateTransport("alice", "secret"),
            TimeProvider = time,
            BackoffJitter = false,                       // reproducible waits
            MinStableConnection = TimeSpan.Zero,         // virtual time does not pass between login and loss
        });
        await manager.StartAsync(TestContext.Current.CancellationToken);

        var home = await WhenAsync(manager, i => i.Up && i.Cur == slave.Address);
        home.Sec.Should().Be(slave.Address, "the PBX it ended on, not the primary (R5)");
        sim.Attempts.Select(a => a.Outcome).Should().Equal(SimulatedAttemptOutcome.Redirected, SimulatedAttemptOutcome.LoggedIn);

        sim.Kill(slave);                                 // the master keeps alice as standby (R4)
        await WhenAsync(manager, i => i.Up && i.Standby && i.Cur == master.Address);

        sim.Revive(slave);                               // StandbyBack: home again (R8)
        await WhenAsync(manager, i => i.Up && !i.Standby && i.Cur == slave.Address);
    }

    /// <summary>Completes with the first connInfo that matches, the current one included; fails after 10 s of real time.</summary>
    private static async Task<ConnInfo> WhenAsync(RedundancyManager manager, Func<ConnInfo, bool> match)
    {
        var reached = new TaskCompletionSource<ConnInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = manager.ConnInfoChanges.Subscribe(info =>
        {
            if (match(info))
            {
                reached.TrySetResult(info);
            }
        });
        return await reached.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }
    // </simulator>

    // <backoff>
    [Fact]
    public async Task PbxDown_WaitsTheBackoff_InVirtualTime()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
        using var sim = new SimulatedPbxSystem(time);
        var pbx = sim.AddMaster("pbx.example.com");
        sim.AddUser("alice", "secret", home: pbx);
        sim.Kill(pbx);

        await using var manager = new RedundancyManager(new RedundancyOptions
        {
            Primary = pbx.Address,
            Transport = sim.CreateTransport("alice", "secret"),
            TimeProvider = time,
            BackoffInitial = TimeSpan.FromSeconds(1),
            BackoffJitter = false,
            MinStableConnection = TimeSpan.Zero,
        });
        var failover = new TaskCompletionSource<RedundancyStateChange>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var states = manager.StateChanges.Subscribe(change =>
        {
            if (change.Current == RedundancyState.Failover)
            {
                failover.TrySetResult(change);
            }
        });
        await manager.StartAsync(TestContext.Current.CancellationToken);

        var down = await failover.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        (down.NextAttemptAt - down.Timestamp).Should().Be(TimeSpan.FromSeconds(1), "the first backoff is BackoffInitial");

        // Failover is published once its backoff timer exists: moving the clock to NextAttemptAt starts the next round.
        sim.Revive(pbx);
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var upChanges = manager.ConnInfoChanges.Subscribe(info =>
        {
            if (info.Up)
            {
                up.TrySetResult();
            }
        });
        time.SetUtcNow(down.NextAttemptAt!.Value);
        await up.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        sim.Attempts.Should().HaveCount(2);
    }
    // </backoff>

    // <emulator>
    [Fact]
    public async Task OverTls_ReconnectsAfterThePbxClosesTheSocket_AndLogsNoSecret()
    {
        await using var emulator = new PbxEmulator(options: new PbxEmulatorOptions { UseTls = true });
        var pbx = await emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        emulator.System.AddUser("alice", "secret-password", home: pbx);
        var logs = new FakeLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var thumbprint = emulator.Certificate!.GetCertHashString();

        await using var transport = new MyAppsWebSocketTransport(new MyAppsTransportOptions
        {
            Username = "alice",
            Password = "secret-password",
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate?.GetCertHashString() == thumbprint,
            LoggerFactory = loggerFactory,
        });
        await using var manager = new RedundancyManager(new RedundancyOptions
        {
            Primary = pbx.Address,
            Transport = transport,
            Scheme = emulator.Scheme,                    // Wss with UseTls
            BackoffInitial = TimeSpan.FromMilliseconds(50),
            BackoffJitter = false,
            MinStableConnection = TimeSpan.Zero,
            LoggerFactory = loggerFactory,
        });
        await manager.StartAsync(TestContext.Current.CancellationToken);
        await WhenAsync(manager, i => i.Up);

        await emulator.CloseConnectionsAsync(pbx);       // an orderly PBX restart: close handshake 1001
        await WhenAsync(manager, i => i.Up && emulator.System.Attempts.Count(a => a.Outcome == SimulatedAttemptOutcome.LoggedIn) == 2);
        await manager.StopAsync(TestContext.Current.CancellationToken);

        var secrets = emulator.SecretsSeen.Append("secret-password").ToList();
        var text = string.Join("\n", logs.Collector.GetSnapshot().Select(r => r.Message + r.Exception));
        secrets.Should().NotBeEmpty().And.OnlyContain(secret => !text.Contains(secret, StringComparison.Ordinal));
    }
    // </emulator>

    // <signin>
    [Fact]
    public async Task SessionUnknownAtTheStandby_TheUserSignsInThereOnce()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));
        using var sim = new SimulatedPbxSystem(time);
        var master = sim.AddMaster("master.example.com");
        var standby = sim.AddStandby("standby.example.com", master);
        sim.SetLoginMethods(master, SimulatedLoginMethods.SingleSignOnOnly);    // OAuth2 only, no passwords
        sim.SetLoginMethods(standby, SimulatedLoginMethods.SingleSignOnOnly);
        sim.AddUser("alice", "known-to-nobody", home: master);
        var signIns = new ConcurrentQueue<PbxAddress>();                     // where alice had to sign in

        await using var manager = new RedundancyManager(new RedundancyOptions
        {
            Primary = master.Address,
            Transport = sim.CreateSignInTransport("alice", (pbx, _) =>
            {
                signIns.Enqueue(pbx);                                        // your app would show the sign-in page
                return ValueTask.CompletedTask;                              // alice signs in at once
            }),
            TimeProvider = time,
            BackoffJitter = false,
            MinStableConnection = TimeSpan.Zero,
        });
        await manager.StartAsync(TestContext.Current.CancellationToken);
        await WhenAsync(manager, i => i.Up && i.Cur == master.Address);

        sim.ExpireSessions("alice", standby);                                // the standby does not know her session
        sim.Kill(master);
        await WhenAsync(manager, i => i.Up && i.Standby && i.Cur == standby.Address);

        signIns.Should().Equal(master.Address, standby.Address);             // error 5 at the standby: one sign-in there
    }
    // </signin>
}
