using System.Diagnostics.Metrics;
using System.Reactive.Linq;
using System.Reactive.Threading.Tasks;
using FluentAssertions;
using Innovaphone.Redundancy.Hosting;
using Innovaphone.Redundancy.Persistence;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Hosting;

/// <summary>The hosted service over the in-memory simulator, whose transport is registered in the container and wins.</summary>
public sealed class RedundancyHostedServiceTests : IDisposable
{
    private const string User = "bob";
    private const string Password = "pw-hosted";
    private static readonly DateTimeOffset Epoch = new(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly SimulatedPbxSystem _sim;
    private readonly SimulatedPbx _master;
    private readonly SimulatedPbx _slave;

    public RedundancyHostedServiceTests()
    {
        _sim = new SimulatedPbxSystem(_time);
        _master = _sim.AddMaster("master.example.com");
        _slave = _sim.AddSlave("slave.example.com", _master);
        _sim.AddUser(User, Password, home: _slave);
    }

    public void Dispose() => _sim.Dispose();

    [Fact]
    public async Task StartAsync_CustomTransport_WinsOverTheBuiltInOne()
    {
        // No user or password configured: the built-in transport could not even be made.
        using var host = Build();

        await host.StartAsync(TestContext.Current.CancellationToken);
        var manager = host.Services.GetRequiredService<RedundancyManager>();
        var info = await manager.WaitForAsync(i => i.Up);

        info.Cur.Should().Be(_slave.Address, "the simulator redirected the login from the master to bob's PBX");
        _sim.Attempts.Select(a => a.Pbx).Should().StartWith([_master.Address, _slave.Address]);
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task HostStartAndStop_StartTheManagerAndStopIt()
    {
        using var host = Build();
        var manager = host.Services.GetRequiredService<RedundancyManager>();
        manager.State.Should().Be(RedundancyState.Idle, "nothing starts before the host does");

        await host.StartAsync(TestContext.Current.CancellationToken);
        manager.State.Should().NotBe(RedundancyState.Idle);
        await manager.WaitForAsync(i => i.Up);
        _sim.LiveConnectionCount.Should().Be(1);

        await host.StopAsync(TestContext.Current.CancellationToken);

        manager.State.Should().Be(RedundancyState.Stopped);
        _sim.LiveConnectionCount.Should().Be(0, "stopping the host closes the connection");
    }

    [Fact]
    public async Task DisposeHost_DisposesTheManager()
    {
        var host = Build();
        var manager = host.Services.GetRequiredService<RedundancyManager>();
        await host.StartAsync(TestContext.Current.CancellationToken);
        await manager.WaitForAsync(i => i.Up);
        var completed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = manager.ConnInfoChanges.Subscribe(_ => { }, () => completed.TrySetResult());

        // Disposed without a stop first (a host whose stop was cut short): disposal alone must release everything.
        await ((IAsyncDisposable)host).DisposeAsync();

        // A disposed manager completes its observables; OnCompleted arrives off the disposing thread, so it is waited for.
        await completed.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        _sim.LiveConnectionCount.Should().Be(0);
        await FluentActions.Awaiting(() => manager.StartAsync(TestContext.Current.CancellationToken)).Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public async Task StopAsync_ShutdownTokenAlreadyCancelled_ReturnsAndLogsThatTheStopWasCutShort()
    {
        using var host = Build();
        var manager = host.Services.GetRequiredService<RedundancyManager>();
        await host.StartAsync(TestContext.Current.CancellationToken);
        await manager.WaitForAsync(i => i.Up);
        var service = host.Services.GetServices<IHostedService>().OfType<RedundancyHostedService>().Single();

        await service.StopAsync(new CancellationToken(canceled: true));

        host.Logs().Should().Contain(l => l.Id.Id == HostingLog.StopCutShortId && l.Level == LogLevel.Warning);
        manager.State.Should().Be(RedundancyState.Connected, "the stop never got its turn");
        await ((IAsyncDisposable)host).DisposeAsync();
        _sim.LiveConnectionCount.Should().Be(0, "disposal finishes what the stop could not");
    }

    [Fact]
    public async Task Manager_UsesTheRegisteredTimeProviderAndTheHostsLoggers()
    {
        using var host = Build();
        var manager = host.Services.GetRequiredService<RedundancyManager>();
        var first = manager.StateChanges.FirstAsync().ToTask();

        await host.StartAsync(TestContext.Current.CancellationToken);

        (await first.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Timestamp.Should().Be(Epoch, "time comes from the FakeTimeProvider in the container");
        host.Logs().Should().Contain(l => l.Id.Id == 100 && l.Category == typeof(RedundancyManager).FullName, "the manager logs through the host's logger factory");
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Manager_RecordsMetricsThroughTheHostsMeterFactory()
    {
        using var host = Build([], services: s => s.AddMetrics());
        var meters = host.Services.GetRequiredService<IMeterFactory>();
        using var up = new MetricCollector<long>(meters, RedundancyTelemetry.Name, RedundancyTelemetry.UpInstrument);
        var manager = host.Services.GetRequiredService<RedundancyManager>();

        await host.StartAsync(TestContext.Current.CancellationToken);
        await manager.WaitForAsync(i => i.Up);

        up.GetMeasurementSnapshot().Sum(m => m.Value).Should().Be(1, "the manager's meter comes from the host's factory");
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Manager_WithoutARegisteredTimeProvider_UsesTheSystemClock()
    {
        using var host = Build(registerTime: false);
        var manager = host.Services.GetRequiredService<RedundancyManager>();
        var first = manager.StateChanges.FirstAsync().ToTask();
        var before = DateTimeOffset.UtcNow;

        await host.StartAsync(TestContext.Current.CancellationToken);

        (await first.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)).Timestamp.Should().BeOnOrAfter(before).And.NotBe(Epoch);
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task StateFile_KeepsTheRecordInAJsonFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"redundancy-hosting-{Guid.NewGuid():N}.json");
        try
        {
            using var host = Build(("StateFile", path), ("User", User));
            await host.StartAsync(TestContext.Current.CancellationToken);
            await host.Services.GetRequiredService<RedundancyManager>().WaitForAsync(i => i.Up);
            await host.StopAsync(TestContext.Current.CancellationToken);

            var record = await new JsonFileRedundancyStore(path).LoadAsync($"{_master.Address}|{User}", TestContext.Current.CancellationToken);
            record.Should().Be(new RedundancyRecord(_master.Address, _slave.Address, _slave.Address) { HomeMaster = _master.Address });
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task ByDefault_TheRecordIsKeptInOneFilePerPrimaryAndUser()
    {
        var directory = Directory.CreateTempSubdirectory("redundancy-hosting-").FullName;
        try
        {
            using (var host = Build(("StateDirectory", directory), ("User", User)))
            {
                await host.StartAsync(TestContext.Current.CancellationToken);
                await host.Services.GetRequiredService<RedundancyManager>().WaitForAsync(i => i.Up);
                await host.StopAsync(TestContext.Current.CancellationToken);
            }

            var path = JsonFileRedundancyStore.GetDefaultPath(_master.Address, User, directory);
            Directory.GetFiles(directory).Should().Equal([path], "one file, named after the primary and the user");
            var record = await new JsonFileRedundancyStore(path).LoadAsync($"{_master.Address}|{User}", TestContext.Current.CancellationToken);
            record.Should().Be(new RedundancyRecord(_master.Address, _slave.Address, _slave.Address) { HomeMaster = _master.Address });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task ByDefault_AServiceRestartedWhileThePrimaryIsDown_LogsInAtTheStoredSecondary()
    {
        var directory = Directory.CreateTempSubdirectory("redundancy-hosting-").FullName;
        try
        {
            using (var first = Build(("StateDirectory", directory), ("User", User)))
            {
                await first.StartAsync(TestContext.Current.CancellationToken);
                await first.Services.GetRequiredService<RedundancyManager>().WaitForAsync(i => i.Up);
                await first.StopAsync(TestContext.Current.CancellationToken);
            }

            _sim.Kill(_master);
            using var second = Build(("StateDirectory", directory), ("User", User));
            await second.StartAsync(TestContext.Current.CancellationToken);
            var manager = second.Services.GetRequiredService<RedundancyManager>();
            var info = await manager.WaitForAsync(i => i.Up);

            info.Cur.Should().Be(_slave.Address, "the stored secondary is tried after the primary, which is down");
            await second.StopAsync(TestContext.Current.CancellationToken);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task PersistStateFalse_KeepsTheRecordInMemory()
    {
        var directory = Directory.CreateTempSubdirectory("redundancy-hosting-").FullName;
        try
        {
            using var host = Build(("StateDirectory", directory), ("User", User), ("PersistState", "false"));
            await host.StartAsync(TestContext.Current.CancellationToken);
            await host.Services.GetRequiredService<RedundancyManager>().WaitForAsync(i => i.Up);
            await host.StopAsync(TestContext.Current.CancellationToken);

            Directory.GetFiles(directory).Should().BeEmpty();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task RegisteredStore_WinsOverTheStateFile()
    {
        var store = new InMemoryRedundancyStore();
        var path = Path.Combine(Path.GetTempPath(), $"redundancy-hosting-{Guid.NewGuid():N}.json");
        using var host = Build([("StateFile", path)], services => services.AddSingleton<IRedundancyStore>(store));

        await host.StartAsync(TestContext.Current.CancellationToken);
        await host.Services.GetRequiredService<RedundancyManager>().WaitForAsync(i => i.Up);
        await host.StopAsync(TestContext.Current.CancellationToken);

        (await store.LoadAsync(_master.Address.ToString(), TestContext.Current.CancellationToken))!.Secondary.Should().Be(_slave.Address);
        File.Exists(path).Should().BeFalse();
    }

    [Fact]
    public void BuiltInTransport_IsASingletonTheContainerOwns()
    {
        using var host = HostingRig.Build(HostingRig.Settings(("Primary", "pbx.example.com/PBX0"), ("User", "alice"), ("Password", "pw")));

        var transport = host.Services.GetRequiredService<MyAppsWebSocketTransport>();

        host.Services.GetService<IPbxTransport>().Should().BeNull("no transport was registered by the app");
        host.Services.GetRequiredService<MyAppsWebSocketTransport>().Should().BeSameAs(transport);
    }

    private IHost Build(params (string Key, string? Value)[] settings) => Build(settings, services: null);

    private IHost Build(bool registerTime) => Build([], services: null, registerTime);

    private IHost Build((string Key, string? Value)[] settings, Action<IServiceCollection>? services, bool registerTime = true) =>
        HostingRig.Build(
            HostingRig.Settings([("Primary", _master.Address.ToString()), .. settings]),
            s =>
            {
                s.AddSingleton(_sim.CreateTransport(User, Password));
                if (registerTime)
                {
                    s.AddSingleton<TimeProvider>(_time);
                }

                services?.Invoke(s);
            });
}
