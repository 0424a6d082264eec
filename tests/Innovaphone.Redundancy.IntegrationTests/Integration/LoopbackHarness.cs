using System.Collections.Concurrent;
using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Integration;

/// <summary>
/// A manager with the real WebSocket transport against a <see cref="PbxEmulator"/> on loopback, in real time.
/// Timeouts and backoffs are short so that a failover takes milliseconds; every wait is for a notification,
/// bounded by a guard so that a bug fails the test instead of hanging it.
/// </summary>
internal sealed class LoopbackHarness : IAsyncDisposable
{
    public const string User = "alice";
    public const string Password = "s3cret-Pa55";

    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);
    private readonly ConcurrentQueue<RedundancyStateChange> _changes = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly List<IDisposable> _subscriptions = [];

    public LoopbackHarness(PbxEmulatorOptions? options = null)
    {
        Emulator = new PbxEmulator(options: options);
        LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddProvider(LogProvider).AddProvider(RunSecrets.LoggerProvider).SetMinimumLevel(LogLevel.Trace));
    }

    public PbxEmulator Emulator { get; }

    public SimulatedPbxSystem Sim => Emulator.System;

    public FakeLoggerProvider LogProvider { get; } = new();

    public ILoggerFactory LoggerFactory { get; }

    public MyAppsWebSocketTransport Transport { get; private set; } = null!;

    public RedundancyManager Manager { get; private set; } = null!;

    public IReadOnlyList<RedundancyStateChange> Changes => [.. _changes];

    public IReadOnlyList<FakeLogRecord> Logs => LogProvider.Collector.GetSnapshot();

    /// <summary>Transport options for loopback: plain ws allowed, the emulator's certificate trusted, short bounds.</summary>
    public MyAppsTransportOptions TransportOptions(string password = Password) => new()
    {
        Username = User,
        Password = password,
        AllowInsecure = true,
        RemoteCertificateValidationCallback = Emulator.Certificate is { } certificate
            ? (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString()
            : null,
        ConnectTimeout = TimeSpan.FromSeconds(2),
        LoginTimeout = TimeSpan.FromSeconds(2),
        CloseTimeout = TimeSpan.FromSeconds(1),
        LoggerFactory = LoggerFactory,
    };

    /// <summary>Creates the transport and the manager (not started).</summary>
    public RedundancyManager Create(
        SimulatedPbx primary,
        Func<MyAppsTransportOptions, MyAppsTransportOptions>? transport = null,
        Func<RedundancyOptions, RedundancyOptions>? manager = null)
    {
        var transportOptions = TransportOptions();
        Transport = new MyAppsWebSocketTransport(transport is null ? transportOptions : transport(transportOptions));
        var options = new RedundancyOptions
        {
            Primary = primary.Address,
            Transport = Transport,
            User = User,
            Scheme = Emulator.Scheme,
            LoggerFactory = LoggerFactory,
            AttemptTimeout = TimeSpan.FromSeconds(2),
            BackoffInitial = TimeSpan.FromMilliseconds(50),
            BackoffMax = TimeSpan.FromMilliseconds(200),
            BackoffJitter = false,

            // The scenarios fail PBXes milliseconds after a login; that is no flapping PBX.
            MinStableConnection = TimeSpan.Zero,
        };
        Manager = new RedundancyManager(manager is null ? options : manager(options));
        _subscriptions.Add(Manager.ConnInfoChanges.Subscribe(_ => _signal.Release(), () => _signal.Release()));
        _subscriptions.Add(Manager.StateChanges.Subscribe(change => { _changes.Enqueue(change); _signal.Release(); }));
        return Manager;
    }

    public async Task<RedundancyManager> StartAsync(
        SimulatedPbx primary,
        Func<MyAppsTransportOptions, MyAppsTransportOptions>? transport = null,
        Func<RedundancyOptions, RedundancyOptions>? manager = null)
    {
        Create(primary, transport, manager);
        await Manager.StartAsync(TestContext.Current.CancellationToken);
        return Manager;
    }

    /// <summary>Waits until <paramref name="condition"/> holds, re-checking on every notification.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        guard.CancelAfter(Guard);
        while (!condition())
        {
            try
            {
                // Also re-checks every 50 ms: some conditions (the simulator's records) change without a notification.
                await _signal.WaitAsync(TimeSpan.FromMilliseconds(50), guard.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Gave up waiting for: {what}. Changes: {string.Join(", ", Changes.Select(c => $"{c.Current} ({c.Reason})"))}");
            }
        }
    }

    public async Task<RedundancyStateChange> WaitForStateAsync(RedundancyState state, int after = 0)
    {
        await WaitUntilAsync(() => Changes.Skip(after).Any(c => c.Current == state), $"state {state}");
        return Changes.Skip(after).First(c => c.Current == state);
    }

    public async Task<ConnInfo> WaitUpAsync(SimulatedPbx on, bool standby = false)
    {
        await WaitUntilAsync(() => Manager.ConnInfo is { Up: true } c && c.Standby == standby && c.Cur == on.Address, $"up (standby {standby}) on {on}");

        // State changes arrive off the manager's loop, after the ConnInfo property changed: wait for the one that goes with it.
        var state = standby ? RedundancyState.Standby : RedundancyState.Connected;
        await WaitUntilAsync(() => Changes.LastOrDefault()?.Current == state, $"the change to {state} on {on}");
        return Manager.ConnInfo;
    }

    public Task WaitForFailoversAsync(int count) =>
        WaitUntilAsync(() => Changes.Count(c => c.Current == RedundancyState.Failover) >= count, $"{count} failovers");

    public IReadOnlyList<PbxAddress> AttemptedPbxes() => [.. Sim.Attempts.Select(a => a.Pbx)];

    public IEnumerable<int> LogEventIds() => Logs.Select(l => l.Id.Id);

    /// <summary>One transport call outside the manager, for protocol tests.</summary>
    public static async Task<LoginOutcome> ConnectOnceAsync(IPbxTransport transport, SimulatedPbx pbx, PbxScheme scheme)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        bound.CancelAfter(Guard);
        return await transport.ConnectAsync(new PbxLoginRequest(pbx.Address, scheme, 1), bound.Token);
    }

    /// <summary>Asserts that no log record carried the password, an issued session or a digest of the wire.</summary>
    public void ShouldNotHaveLoggedSecrets() => LogSecrets.AssertAbsent(Logs, [Password, .. Emulator.SecretsSeen]);

    public async ValueTask DisposeAsync()
    {
        if (Manager is not null)
        {
            await Manager.DisposeAsync();
        }

        // Every scenario, whatever it tests, also checks that no secret reached a log record: the user's password, the
        // sessions the PBXes issued and the digests exchanged on the wire.
        LogSecrets.AssertAbsent(Logs, [Password, .. Emulator.SecretsSeen]);

        if (Transport is not null)
        {
            await Transport.DisposeAsync();
        }

        // The client closed its socket: the emulator must notice and release the simulated login.
        var released = true;
        try
        {
            await WaitUntilAsync(() => Sim.LiveConnectionCount == 0, "the simulated logins released after the client closed");
        }
        catch (TimeoutException)
        {
            released = false;
        }

        foreach (var subscription in _subscriptions)
        {
            subscription.Dispose();
        }

        await Emulator.DisposeAsync();
        LoggerFactory.Dispose();
        released.Should().BeTrue("every simulated login is released when the client closes its socket");
        Emulator.OpenSocketCount.Should().Be(0, "the emulator aborts every socket on dispose");
        _signal.Dispose();
    }
}
