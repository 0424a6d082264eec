using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Integration;

/// <summary>
/// R13 over real loopback WebSockets: a user of an installation that signs in only through its identity provider
/// (OAuth2) signs in once, and the myApps session carries them through a redirect chain, a standby login and a
/// StandbyBack without the host's sign-in callback firing again; a session that expires (error 5) asks the host once.
/// The emulator's sign-in page is opened with an HTTP GET, as a browser would.
/// </summary>
[Trait("Category", "Integration")]
public sealed class SignInFailoverTests : IAsyncLifetime
{
    private const string User = "alice";
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private readonly PbxEmulator _emulator = new();
    private readonly HttpClient _browser = new();
    private readonly ILoggerFactory _logs = LoggerFactory.Create(b => b.AddProvider(RunSecrets.LoggerProvider).SetMinimumLevel(LogLevel.Trace));
    private readonly List<MyAppsSignIn> _signIns = [];
    private readonly List<Task<HttpResponseMessage>> _pages = [];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        RunSecrets.AddSecrets(_emulator.SecretsSeen);
        await _emulator.DisposeAsync();
        _browser.Dispose();
        _logs.Dispose();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private int SignIns
    {
        get
        {
            lock (_signIns)
            {
                return _signIns.Count;
            }
        }
    }

    [Fact]
    public async Task R13_SignedInOnce_SessionCarriesTheUserThroughRedirectStandbyAndStandbyBack()
    {
        var (master, slave) = await SingleSignOnInstallationAsync();
        await using var transport = NewTransport();
        await using var manager = NewManager(master, transport);

        await manager.StartAsync(Ct);
        await WaitForAsync(manager, i => i.Up && !i.Standby && i.Cur == slave.Address, "up on the user's PBX after the redirect");
        SignIns.Should().Be(1, "the user signed in once, at the master, which redirected to the slave");
        _signIns[0].Pbx.Should().Be(master.Address);
        transport.User!.Sip.Should().Be(User);

        _emulator.System.Kill(slave);
        await WaitForAsync(manager, i => i.Up && i.Standby && i.Cur == master.Address, "standby on the master");
        _emulator.System.Revive(slave);
        await WaitForAsync(manager, i => i.Up && !i.Standby && i.Cur == slave.Address, "home again after StandbyBack");

        SignIns.Should().Be(1, "the session carried the user through the standby login and StandbyBack");
        (await Task.WhenAll(_pages)).Should().OnlyContain(r => r.IsSuccessStatusCode);
    }

    [Fact]
    public async Task R13_SessionExpiredAtTheStandby_AsksTheHostExactlyOnce()
    {
        var (master, slave) = await SingleSignOnInstallationAsync();
        await using var transport = NewTransport();
        await using var manager = NewManager(master, transport);
        await manager.StartAsync(Ct);
        await WaitForAsync(manager, i => i.Up && i.Cur == slave.Address, "up on the user's PBX");

        // The master no longer knows the session; the slave dies: the standby login at the master gets error 5.
        _emulator.System.ExpireSessions(User, master);
        _emulator.System.Kill(slave);
        await WaitForAsync(manager, i => i.Up && i.Standby && i.Cur == master.Address, "standby on the master after a new sign-in");
        SignIns.Should().Be(2, "error 5 asked the host once");
        _signIns[1].Pbx.Should().Be(master.Address);

        _emulator.System.Revive(slave);
        await WaitForAsync(manager, i => i.Up && !i.Standby && i.Cur == slave.Address, "home again after StandbyBack");
        SignIns.Should().Be(2, "the new session carries the user home");
    }

    [Fact]
    public async Task R13_TwoPbxesAskForASignInAtOnce_OnlyOneSignInStarts()
    {
        // As staggered attempts can: two logins of one transport reach the sign-in before either PBX answered for good.
        var first = await _emulator.AddMasterAsync(cancellationToken: Ct);
        var second = await _emulator.AddMasterAsync(cancellationToken: Ct);
        _emulator.System.SetLoginMethods(first, SimulatedLoginMethods.SingleSignOnOnly);
        _emulator.System.SetLoginMethods(second, SimulatedLoginMethods.SingleSignOnOnly);
        _emulator.System.AddUser(User, "not-used-by-sso", home: first);
        var signedIn = new TaskCompletionSource<MyAppsSignIn>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var transport = new MyAppsWebSocketTransport(new MyAppsTransportOptions
        {
            Username = User,
            AllowSingleSignOn = true,
            AllowInsecure = true,
            OnSignIn = signIn =>
            {
                lock (_signIns)
                {
                    _signIns.Add(signIn);
                }

                signedIn.TrySetResult(signIn);
            },
            LoggerFactory = _logs,
        });
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        var atFirst = transport.ConnectAsync(new PbxLoginRequest(first.Address, _emulator.Scheme, 1), cancel.Token).AsTask();
        var waiting = await signedIn.Task.WaitAsync(Guard, Ct);
        var atSecond = await transport.ConnectAsync(new PbxLoginRequest(second.Address, _emulator.Scheme, 2), Ct).AsTask().WaitAsync(Guard, Ct);

        waiting.Pbx.Should().Be(first.Address);
        atSecond.Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.Refused);
        SignIns.Should().Be(1, "no second sign-in while one is in progress");

        // Once the first sign-in ends (here: given up), a sign-in may start again.
        await cancel.CancelAsync();
        await FluentActions.Awaiting(() => atFirst).Should().ThrowAsync<OperationCanceledException>();
        _emulator.SignInAs(User, automatic: true);
        (await transport.ConnectAsync(new PbxLoginRequest(second.Address, _emulator.Scheme, 3), Ct).AsTask().WaitAsync(Guard, Ct))
            .Should().BeOfType<Redirected>("signed in again; the user lives on the first PBX");
        SignIns.Should().Be(2);
    }

    [Fact]
    public async Task R13_StopAsync_ReturnsOnlyAfterTheLearnedSessionIsStored()
    {
        // The store write runs in the background; a host that stops and exits right after StopAsync must not lose it.
        var (master, slave) = await SingleSignOnInstallationAsync();
        var store = new HeldSessionStore();
        await using var transport = NewTransport(store);
        await using var manager = NewManager(master, transport);
        await manager.StartAsync(Ct);
        await WaitForAsync(manager, i => i.Up && i.Cur == slave.Address, "up on the user's PBX");
        await store.SaveStarted.WaitAsync(Guard, Ct);

        var stop = manager.StopAsync(Ct);
        await WaitForAsync(manager, i => !i.Up, "down after the stop");
        stop.IsCompleted.Should().BeFalse("the session is still being written");

        store.Release();
        await stop.WaitAsync(Guard, Ct);
        store.Saved.Should().NotBeNull("StopAsync waited for the write");
    }

    private async Task<(SimulatedPbx Master, SimulatedPbx Slave)> SingleSignOnInstallationAsync()
    {
        var master = await _emulator.AddMasterAsync(cancellationToken: Ct);
        var slave = await _emulator.AddSlaveAsync(master, cancellationToken: Ct);
        _emulator.System.SetLoginMethods(master, SimulatedLoginMethods.SingleSignOnOnly);
        _emulator.System.SetLoginMethods(slave, SimulatedLoginMethods.SingleSignOnOnly);
        _emulator.System.AddUser(User, "not-used-by-sso", home: slave);
        _emulator.SignInAs(User);
        return (master, slave);
    }

    /// <summary>A transport without a password: the PBX's sign-in page is "opened" at once by an HTTP GET.</summary>
    private MyAppsWebSocketTransport NewTransport(IMyAppsSessionStore? store = null) => new(new MyAppsTransportOptions
    {
        Username = User,
        AllowSingleSignOn = true,
        AllowInsecure = true,
        SessionStore = store,
        OnSignIn = signIn =>
        {
            lock (_signIns)
            {
                _signIns.Add(signIn);
                _pages.Add(_browser.GetAsync(signIn.Url, Ct));
            }
        },
        LoggerFactory = _logs,
    });

    private RedundancyManager NewManager(SimulatedPbx primary, MyAppsWebSocketTransport transport) => new(new RedundancyOptions
    {
        Primary = primary.Address,
        Transport = transport,
        Scheme = _emulator.Scheme,
        User = User,
        LoggerFactory = _logs,
    });

    /// <summary>A session store whose saves finish only when the test releases them.</summary>
    private sealed class HeldSessionStore : IMyAppsSessionStore
    {
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task SaveStarted => _started.Task;

        public MyAppsSession? Saved { get; private set; }

        public void Release() => _release.TrySetResult();

        public ValueTask<MyAppsSession?> LoadAsync(string user, CancellationToken cancellationToken) => ValueTask.FromResult<MyAppsSession?>(null);

        public async ValueTask SaveAsync(string user, MyAppsSession session, CancellationToken cancellationToken)
        {
            _started.TrySetResult();
            await _release.Task.WaitAsync(cancellationToken);
            Saved = session;
        }

        public ValueTask ClearAsync(string user, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    private static async Task WaitForAsync(RedundancyManager manager, Func<ConnInfo, bool> condition, string what)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = manager.ConnInfoChanges.Subscribe(info =>
        {
            if (condition(info))
            {
                reached.TrySetResult();
            }
        });
        try
        {
            await reached.Task.WaitAsync(Guard, Ct);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Gave up waiting for: {what}; connInfo {manager.ConnInfo.ToJson()}, state {manager.State}.");
        }
    }
}
