using System.Diagnostics;
using System.Text;
using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Integration;

/// <summary>
/// R14 with a real network change: the platform's own network events (the library's default source), a real address
/// added to the loopback interface with <c>ip addr</c>, while the path to the current PBX is frozen. It runs in a private
/// network namespace (<c>unshare -n</c>), so that nothing else on the machine sees the change: the test starts this test
/// executable again inside one, filtered to itself, and the run in there does the work. Needs root and iproute2 (CI runs
/// as root; .ci/run installs iproute2 when it is missing); without them it fails, it never skips.
/// </summary>
[Trait("Category", "Integration")]
public sealed class NetworkNamespaceTests
{
    private const string InsideVariable = "IPR_TEST_IN_NETWORK_NAMESPACE";
    private const string User = "dana";
    private const string Password = "n3tns-Pa55";
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AddressAddedWhileThePathIsFrozen_VerifiesAtOnce_AndFailsOverToTheStandby()
    {
        if (Environment.GetEnvironmentVariable(InsideVariable) == "1")
        {
            await InsideTheNamespaceAsync();
            return;
        }

        OperatingSystem.IsLinux().Should().BeTrue("network namespaces are Linux's");
        var (exitCode, output) = await RunInNamespaceAsync(nameof(AddressAddedWhileThePathIsFrozen_VerifiesAtOnce_AndFailsOverToTheStandby));

        exitCode.Should().Be(0, "the run inside the namespace must pass:\n{0}", output);
        output.Should().Contain("succeeded: 1", "exactly this test ran in there:\n{0}", output);
    }

    private static async Task InsideTheNamespaceAsync()
    {
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(new FakeLoggerProvider(logs)).AddProvider(RunSecrets.LoggerProvider));
        await using var emulator = new PbxEmulator();
        var master = await emulator.AddMasterAsync(cancellationToken: Ct);
        var standby = await emulator.AddStandbyAsync(master, cancellationToken: Ct);
        emulator.System.AddUser(User, Password, master);
        RunSecrets.AddSecrets([Password]);

        // Library defaults, the platform's network changes among them; the keepalive would take 10 s or more.
        await using var transport = new MyAppsWebSocketTransport(new MyAppsTransportOptions
        {
            Username = User,
            Password = Password,
            AllowInsecure = true,
            LoggerFactory = loggerFactory,
        });
        await using var manager = new RedundancyManager(new RedundancyOptions
        {
            Primary = master.Address,
            Transport = transport,
            Scheme = PbxScheme.Ws,
            LoggerFactory = loggerFactory,
        });
        var up = WhenConnInfo(manager, c => c.Up && c.Cur == master.Address);
        await manager.StartAsync(Ct);
        await up.WaitAsync(Guard, Ct);

        emulator.SetHalfOpen(master, true);
        emulator.System.Partition(master, standby);
        var onStandby = WhenConnInfo(manager, c => c.Up && c.Cur == standby.Address);
        var changed = Stopwatch.GetTimestamp();
        (await RunAsync("ip", ["addr", "add", "127.0.0.42/8", "dev", "lo"])).ExitCode.Should().Be(0);
        await onStandby.WaitAsync(Guard, Ct);
        var took = Stopwatch.GetElapsedTime(changed);

        RunSecrets.AddSecrets(emulator.SecretsSeen);
        var records = logs.GetSnapshot();
        records.Should().Contain(r => r.Id.Id == Log.NetworkChangedId, "the platform reported the change");
        records.Should().Contain(r => r.Id.Id == WebSocketLog.KeepAliveExpiredId && r.Message.Contains("00:00:01.5", StringComparison.Ordinal),
            "the verify PING's deadline ended the connection, not the keepalive's");
        took.Should().BeLessThan(TimeSpan.FromSeconds(8), "the keepalive alone needs 10 s or more after the last traffic");
    }

    private static Task<ConnInfo> WhenConnInfo(RedundancyManager manager, Func<ConnInfo, bool> condition)
    {
        var done = new TaskCompletionSource<ConnInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscription = manager.ConnInfoChanges.Subscribe(c =>
        {
            if (condition(c))
            {
                done.TrySetResult(c);
            }
        });
        _ = done.Task.ContinueWith(_ => subscription.Dispose(), TaskScheduler.Default);
        return done.Task;
    }

    /// <summary>Runs this test executable again in a new network namespace (loopback up), filtered to <paramref name="method"/>.</summary>
    private static Task<(int ExitCode, string Output)> RunInNamespaceAsync(string method)
    {
        var host = Environment.ProcessPath!;
        var arguments = new List<string> { "-n", "--", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\"", host };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            arguments.AddRange(["exec", typeof(NetworkNamespaceTests).Assembly.Location]);
        }

        arguments.AddRange(["--filter-method", $"{typeof(NetworkNamespaceTests).FullName}.{method}"]);
        return RunAsync("unshare", arguments, new Dictionary<string, string> { [InsideVariable] = "1" });
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var startInfo = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        // The outer run may be under dotnet test: the inner one is a plain run of its own, not a part of that session.
        foreach (var name in startInfo.Environment.Keys.Where(k => k.StartsWith("TESTINGPLATFORM_", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            startInfo.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[name] = value;
        }

        var output = new StringBuilder();
        using var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, $"{file} could not be started ({e.Message}): install iproute2 and util-linux, run as root");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromMinutes(3), Ct);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            Append("(killed after 3 minutes)");
        }

        process.WaitForExit();
        lock (output)
        {
            return (process.HasExited ? process.ExitCode : -1, output.ToString());
        }

        void Append(string? line)
        {
            if (line is not null)
            {
                lock (output)
                {
                    output.AppendLine(line);
                }
            }
        }
    }
}
