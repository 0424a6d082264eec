using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Integration;

/// <summary>
/// Several managers of one process on one PBX, over real loopback WebSockets in real time: their connections form one
/// keepalive group (one probe for all), and when the PBX freezes every one of them is found dead by the group's probe,
/// not by a PING of its own, and fails over to the standby.
/// </summary>
[Trait("Category", "Integration")]
public sealed class KeepAliveGroupLoopbackTests : IAsyncLifetime
{
    private const int Users = 5;
    private const string Password = "s3cret-Pa55";

    private readonly PbxEmulator _emulator = new();
    private readonly FakeLoggerProvider _logs = new();
    private readonly ILoggerFactory _loggerFactory;
    private readonly List<MyAppsWebSocketTransport> _transports = [];
    private readonly List<RedundancyManager> _managers = [];

    public KeepAliveGroupLoopbackTests() =>
        _loggerFactory = LoggerFactory.Create(b => b.AddProvider(_logs).AddProvider(RunSecrets.LoggerProvider).SetMinimumLevel(LogLevel.Debug));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var manager in _managers)
        {
            await manager.DisposeAsync();
        }

        foreach (var transport in _transports)
        {
            await transport.DisposeAsync();
        }

        RunSecrets.AddSecrets(_emulator.SecretsSeen);
        await _emulator.DisposeAsync();
        _loggerFactory.Dispose();
    }

    [Fact]
    public async Task R7_ManagersOnOneFrozenPbx_ShareOneProbe_AndAllFailOverToTheStandby()
    {
        var master = await _emulator.AddMasterAsync(cancellationToken: Ct);
        var standby = await _emulator.AddStandbyAsync(master, cancellationToken: Ct);
        for (var i = 0; i < Users; i++)
        {
            _emulator.System.AddUser(User(i), Password, home: master);
            var transport = new MyAppsWebSocketTransport(new MyAppsTransportOptions
            {
                Username = User(i),
                Password = Password,
                AllowInsecure = true,
                KeepAliveInterval = TimeSpan.FromMilliseconds(300),
                KeepAliveTimeout = TimeSpan.FromSeconds(1),
                ConnectTimeout = TimeSpan.FromSeconds(10),
                LoggerFactory = _loggerFactory,
            });
            _transports.Add(transport);
            _managers.Add(new RedundancyManager(new RedundancyOptions
            {
                Primary = master.Address,
                Transport = transport,
                Scheme = _emulator.Scheme,
                User = User(i),
                AttemptTimeout = TimeSpan.FromSeconds(10),
                LoggerFactory = _loggerFactory,
            }));
        }

        foreach (var manager in _managers)
        {
            await manager.StartAsync(Ct);
        }

        foreach (var manager in _managers)
        {
            await manager.WaitForAsync(i => i.Up && i.Cur == master.Address);
        }

        _transports.SelectMany(t => t.KeepAliveGroups).Distinct().Should().ContainSingle("the connections of one process to one PBX share one probe");

        // Frozen: TCP stays open, nothing is read or answered, and the standby has lost its registration to it.
        var before = _logs.Collector.GetSnapshot().Count;
        _emulator.SetHalfOpen(master, true);
        _emulator.System.Partition(master, standby);
        foreach (var manager in _managers)
        {
            await manager.WaitForAsync(i => i.Up && i.Standby && i.Cur == standby.Address);
        }

        _logs.Collector.GetSnapshot().Skip(before)
            .Count(l => l.Id.Id == WebSocketLog.KeepAliveExpiredId && l.Message.Contains(master.Address.ToString(), StringComparison.Ordinal))
            .Should().Be(Users, "each connection to the frozen PBX ended as a missing PONG, most of them through the group's probe");
        _emulator.SetHalfOpen(master, false);
    }

    private static string User(int i) => $"user{i}";
}
