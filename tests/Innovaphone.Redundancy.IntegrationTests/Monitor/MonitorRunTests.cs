using System.Security.Cryptography;
using System.Text.Json;
using FluentAssertions;
using Innovaphone.Redundancy.Monitor;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Monitor;

/// <summary>
/// ipr-monitor's run, in process, against the loopback emulator: certificate pinning over wss://, the --events JSON
/// lines, a rejected login (exit code 3) and the state file. The installed tool is tested in Packaging/MonitorToolTests.
/// </summary>
[Trait("Category", "Integration")]
public sealed class MonitorRunTests : IAsyncLifetime
{
    private const string User = "alice";
    private const string Password = "m0nitor-Pa55word";
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"ipr-monitor-run-{Guid.NewGuid():N}");
    private readonly LineWriter _stdout = new();
    private readonly LineWriter _stderr = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ILoggerFactory _logs = LoggerFactory.Create(b => b.AddProvider(RunSecrets.LoggerProvider).SetMinimumLevel(LogLevel.Trace));
    private PbxEmulator? _emulator;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_emulator is not null)
        {
            RunSecrets.AddSecrets([Password, .. _emulator.SecretsSeen]);
            await _emulator.DisposeAsync();
        }

        RunSecrets.Capture(nameof(MonitorRunTests) + " stdout", _stdout.Text);
        RunSecrets.Capture(nameof(MonitorRunTests) + " stderr", _stderr.Text);
        _logs.Dispose();
        _stop.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task Run_SelfSignedPbxWithPinnedThumbprint_ComesUpOverWss()
    {
        var pbx = await StartEmulatorAsync(tls: true);
        var thumbprint = Convert.ToHexString(_emulator!.Certificate!.GetCertHash(HashAlgorithmName.SHA256));

        var run = Start("--pbx", pbx.Address.ToString(), "--user", User, "--password-stdin", "--no-state-file", "--trust-thumbprint", thumbprint);

        await _stdout.WaitForAsync(l => l.Contains($"connInfo up cur={pbx.Address}", StringComparison.Ordinal), Guard);
        _stderr.Lines[0].Should().Be($"ipr-monitor: wss://{pbx.Address} as {User}; no state file (--no-state-file)");
        await StopAsync(run);
    }

    [Fact]
    public async Task Run_SelfSignedPbxWithoutPin_NeverComesUp()
    {
        var pbx = await StartEmulatorAsync(tls: true);

        var run = Start("--pbx", pbx.Address.ToString(), "--user", User, "--password-stdin", "--no-state-file");

        // A failed round, then a second: the certificate is refused each time, nothing logs in.
        var failover = await _stdout.WaitForAsync(l => l.Contains("state    Failover", StringComparison.Ordinal), Guard);
        await _stdout.WaitForAsync(l => l.Contains("state    Failover", StringComparison.Ordinal), Guard, failover.Index + 1);
        _stdout.Lines.Should().NotContain(l => l.Contains("connInfo up", StringComparison.Ordinal));
        _emulator!.System.Attempts.Should().BeEmpty("the TLS handshake fails before any login");
        await StopAsync(run);
    }

    [Fact]
    public async Task Run_Events_WritesOnlyJsonLines_StateEventsTypedAndConnInfoUnchanged()
    {
        var master = await StartEmulatorAsync(tls: false, userHere: false);
        var slave = await _emulator!.AddSlaveAsync(master, cancellationToken: TestContext.Current.CancellationToken);
        _emulator.System.AddUser(User, Password, slave);
        var stateFile = Path.Combine(_directory, "state.json");

        var run = Start("--pbx", master.Address.ToString(), "--user", User, "--password-stdin", "--insecure", "--events", "--state-file", stateFile);

        await _stdout.WaitForAsync(l => l.StartsWith("{\"up\":true", StringComparison.Ordinal), Guard);
        await StopAsync(run);

        var events = new List<JsonElement>();
        var infos = new List<ConnInfo>();
        foreach (var line in _stdout.Lines)
        {
            using var json = JsonDocument.Parse(line);
            if (json.RootElement.TryGetProperty("type", out var type))
            {
                type.GetString().Should().Be("state");
                events.Add(json.RootElement.Clone());
            }
            else
            {
                var info = ConnInfo.FromJson(line);
                info.ToJson().Should().Be(line, "connInfo lines are exactly ConnInfo.ToJson()");
                infos.Add(info);
            }
        }

        events.Select(e => e.GetProperty("state").GetString()).Should().ContainInOrder("Connecting", "Redirected", "Connected", "Stopped");
        infos.Should().Contain(i => i.Up && !i.Standby && i.Cur == slave.Address);
        File.Exists(stateFile).Should().BeTrue("the state file is written after a good login");
        _stderr.Lines[0].Should().Be($"ipr-monitor: ws://{master.Address} as {User}; state file {stateFile}");
    }

    [Fact]
    public async Task Run_LoginRejected_ExitsThreeWithTheReason()
    {
        var pbx = await StartEmulatorAsync(tls: false);

        var exit = await MonitorRun.RunAsync(
            Bind("--pbx", pbx.Address.ToString(), "--user", "mallory", "--password-stdin", "--insecure", "--no-state-file"),
            new MonitorConsole(_stdout, _stderr, new StringReader("wrong-Pa55word\n")), _stop.Token, _logs, TimeZoneInfo.Utc).WaitAsync(Guard, TestContext.Current.CancellationToken);

        exit.Should().Be(MonitorCommandLine.Faulted, _stderr.Text);
        _stdout.Lines.Should().Contain(l => l.Contains("state    Faulted", StringComparison.Ordinal));
        _stderr.Lines[^1].Should().StartWith("ipr-monitor: ");
    }

    [Fact]
    public async Task Run_NoPassword_SignsInThroughTheIdentityProvider_AndKeepsTheSession()
    {
        var master = await StartEmulatorAsync(tls: false, userHere: false);
        var slave = await _emulator!.AddSlaveAsync(master, cancellationToken: TestContext.Current.CancellationToken);
        _emulator.System.SetLoginMethods(master, SimulatedLoginMethods.SingleSignOnOnly);
        _emulator.System.SetLoginMethods(slave, SimulatedLoginMethods.SingleSignOnOnly);
        _emulator.System.AddUser(User, Password, slave);
        _emulator.SignInAs(User);
        var sessionFile = Path.Combine(_directory, "session.json");

        // No --password-env, no --password-stdin, stdin closed: a script or a service.
        var run = MonitorRun.RunAsync(
            Bind("--pbx", master.Address.ToString(), "--user", User, "--insecure", "--events", "--no-state-file", "--session-file", sessionFile),
            new MonitorConsole(_stdout, _stderr, new StringReader(string.Empty)), _stop.Token, _logs, TimeZoneInfo.Utc);

        var prompt = await _stderr.WaitForAsync(l => l.StartsWith("sign in: ", StringComparison.Ordinal), Guard);
        using (var browser = new HttpClient())
        {
            (await browser.GetAsync(new Uri(prompt.Line["sign in: ".Length..]), TestContext.Current.CancellationToken)).IsSuccessStatusCode.Should().BeTrue();
        }

        await _stdout.WaitForAsync(l => l.StartsWith("{\"up\":true", StringComparison.Ordinal) && l.Contains(slave.Address.ToString(), StringComparison.Ordinal), Guard);
        await StopAsync(run);

        using (var signIn = JsonDocument.Parse(_stdout.Lines.Single(l => l.Contains("\"type\":\"sign-in\"", StringComparison.Ordinal))))
        {
            signIn.RootElement.GetProperty("url").GetString().Should().Be(prompt.Line["sign in: ".Length..]);
            signIn.RootElement.GetProperty("pbx").GetString().Should().Be(master.Address.ToString());
        }

        _stderr.Lines[0].Should().Contain("no password: signing in through the identity provider").And.Contain($"session file {sessionFile}");
        File.Exists(sessionFile).Should().BeTrue("--session-file keeps the session for the next run");
        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(sessionFile).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        _stderr.Text.Should().NotContain("   at ", "no stack trace");
    }

    [Fact]
    public async Task Run_NoPasswordAndNoSignInOffered_ExitsThreeSayingHowToGiveAPassword()
    {
        var pbx = await StartEmulatorAsync(tls: false);

        var exit = await MonitorRun.RunAsync(
            Bind("--pbx", pbx.Address.ToString(), "--user", User, "--insecure", "--no-state-file"),
            new MonitorConsole(_stdout, _stderr, new StringReader(string.Empty)), _stop.Token, _logs, TimeZoneInfo.Utc).WaitAsync(Guard, TestContext.Current.CancellationToken);

        exit.Should().Be(MonitorCommandLine.Faulted, _stderr.Text);
        _stderr.Text.Should().Contain("user login by digest", "the PBX's offer is named")
            .And.Contain("--password-env <variable> or --password-stdin")
            .And.NotContain("   at ", "no stack trace");
    }

    [Fact]
    public async Task Run_DefaultView_OrdinaryFailover_LogsNothingBesideTheStateLines()
    {
        // The demo's story: a redirect to the user's PBX, its death (standby on the master), its return (StandbyBack).
        // At the monitor's default level (Warning) the state lines tell it alone: no log line repeats a step.
        var master = await StartEmulatorAsync(tls: false, userHere: false);
        var slave = await _emulator!.AddSlaveAsync(master, cancellationToken: TestContext.Current.CancellationToken);
        _emulator.System.AddUser(User, Password, slave);
        using var view = new WarningCounter();
        using var logs = LoggerFactory.Create(b => b.AddProvider(view).SetMinimumLevel(LogLevel.Warning));

        var run = MonitorRun.RunAsync(
            Bind("--pbx", master.Address.ToString(), "--user", User, "--password-stdin", "--insecure", "--no-state-file"),
            new MonitorConsole(_stdout, _stderr, new StringReader(Password + "\n")), _stop.Token, logs, TimeZoneInfo.Utc);
        await _stdout.WaitForAsync(l => l.Contains($"connInfo up cur={slave.Address}", StringComparison.Ordinal), Guard);
        _emulator.System.Kill(slave);
        var standby = await _stdout.WaitForAsync(l => l.Contains($"connInfo up standby cur={master.Address}", StringComparison.Ordinal), Guard);
        _emulator.System.Revive(slave);
        await _stdout.WaitForAsync(l => l.Contains($"connInfo up cur={slave.Address}", StringComparison.Ordinal), Guard, standby.Index + 1);
        await StopAsync(run);

        view.Lines.Should().BeEmpty("an ordinary failover needs no person; the state lines tell it");
        _stderr.Lines.Should().ContainSingle("only the start line");
        _stdout.Lines.Where(l => l.Contains(" state ", StringComparison.Ordinal)).Should().OnlyHaveUniqueItems();
    }

    /// <summary>Collects the log lines a person would see at the monitor's default level.</summary>
    private sealed class WarningCounter : ILoggerProvider
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(WarningCounter owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    lock (owner._lines)
                    {
                        owner._lines.Add($"{logLevel} {category} {eventId.Id}: {formatter(state, exception)}");
                    }
                }
            }
        }
    }

    /// <summary>A master PBX; the user lives on it unless <paramref name="userHere"/> is false.</summary>
    private async Task<SimulatedPbx> StartEmulatorAsync(bool tls, bool userHere = true)
    {
        _emulator = new PbxEmulator(options: new PbxEmulatorOptions { UseTls = tls });
        var master = await _emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        if (userHere)
        {
            _emulator.System.AddUser(User, Password, master);
        }

        return master;
    }

    private Task<int> Start(params string[] args) =>
        MonitorRun.RunAsync(Bind(args), new MonitorConsole(_stdout, _stderr, new StringReader(Password + "\n")), _stop.Token, _logs, TimeZoneInfo.Utc);

    private async Task StopAsync(Task<int> run)
    {
        await _stop.CancelAsync();
        (await run.WaitAsync(Guard, TestContext.Current.CancellationToken)).Should().Be(MonitorCommandLine.Stopped, _stderr.Text);
    }

    private static MonitorSettings Bind(params string[] args)
    {
        var commandLine = new MonitorCommandLine();
        var parsed = commandLine.Command.Parse(args);
        parsed.Errors.Should().BeEmpty();
        return commandLine.Bind(parsed);
    }
}
