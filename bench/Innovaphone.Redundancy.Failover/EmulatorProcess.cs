using System.Diagnostics;
using System.Globalization;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;

namespace Innovaphone.Redundancy.Failover;

/// <summary>
/// The emulator in a second process, so that the scale figures (managed memory, CPU) are the client's alone. The child is
/// this program with <see cref="ServeArgument"/>; it prints the PBX addresses, then answers one line per command read from
/// its standard input: <c>kill</c>, <c>revive</c> (of the master), <c>peak</c> (attempts since the last kill or revive:
/// the most in any 100 ms bucket, scaled to /s, the total, the first and last attempt and the start of the peak bucket in ms after the command),
/// <c>quit</c>. <c>kill</c> and <c>revive</c> answer with the time they took in ms.
/// </summary>
internal sealed class EmulatorProcess : IAsyncDisposable
{
    public const string ServeArgument = "--serve-emulator";
    private static readonly TimeSpan Bucket = TimeSpan.FromMilliseconds(100);
    private readonly Process _process;
    private readonly SemaphoreSlim _gate = new(1, 1);

    private EmulatorProcess(Process process, PbxAddress master, PbxAddress standby)
    {
        _process = process;
        Master = master;
        Standby = standby;
    }

    public PbxAddress Master { get; }

    public PbxAddress Standby { get; }

    public int ProcessId => _process.Id;

    /// <summary>The CPU time the emulator process has used so far.</summary>
    public TimeSpan Cpu()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    /// <summary>Starts the child with <paramref name="users"/> users (user0…) on the master and waits for its addresses.</summary>
    public static async Task<EmulatorProcess> StartAsync(int users)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("The harness cannot find its own executable.");
        var info = new ProcessStartInfo(self)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };

        // Run as `dotnet harness.dll`: the child needs the dll too.
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(typeof(EmulatorProcess).Assembly.Location);
        }

        info.ArgumentList.Add(ServeArgument);
        info.ArgumentList.Add("--users");
        info.ArgumentList.Add(users.ToString(CultureInfo.InvariantCulture));
        var process = Process.Start(info) ?? throw new InvalidOperationException("The emulator process did not start.");
        try
        {
            var master = PbxAddress.Parse(Expect(await ReadLineAsync(process), "master"));
            var standby = PbxAddress.Parse(Expect(await ReadLineAsync(process), "standby"));
            return new EmulatorProcess(process, master, standby);
        }
        catch
        {
            process.Kill();
            process.Dispose();
            throw;
        }
    }

    /// <summary>Sends one command and returns the child's answer line.</summary>
    public async Task<string> CommandAsync(string command)
    {
        await _gate.WaitAsync();
        try
        {
            await _process.StandardInput.WriteLineAsync(command);
            await _process.StandardInput.FlushAsync();
            return await ReadLineAsync(_process);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await CommandAsync("quit");
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception e) when (e is IOException or TimeoutException or InvalidOperationException)
        {
            _process.Kill();
        }

        _process.Dispose();
        _gate.Dispose();
    }

    /// <summary>The child: serves a master and its standby over loopback until <c>quit</c> or the end of its input.</summary>
    public static async Task<int> ServeAsync(int users, string password)
    {
        await using var emulator = new PbxEmulator();
        var sim = emulator.System;
        var master = await emulator.AddMasterAsync();
        var standby = await emulator.AddStandbyAsync(master);
        for (var i = 0; i < users; i++)
        {
            sim.AddUser(Program.User(i), password, master);
        }

        Console.WriteLine($"master {master.Address}");
        Console.WriteLine($"standby {standby.Address}");
        var since = sim.TimeProvider.GetUtcNow();
        while (await Console.In.ReadLineAsync() is { } line && line != "quit")
        {
            switch (line)
            {
                case "kill":
                    since = sim.TimeProvider.GetUtcNow();
                    sim.Kill(master);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ok {(sim.TimeProvider.GetUtcNow() - since).TotalMilliseconds:0.#}"));
                    break;
                case "revive":
                    since = sim.TimeProvider.GetUtcNow();
                    sim.Revive(master);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ok {(sim.TimeProvider.GetUtcNow() - since).TotalMilliseconds:0.#}"));
                    break;
                case "freeze":
                    // The path to the master dies without a sound (TCP open, nothing answered); the standby no longer
                    // reaches it either, so it keeps the clients instead of sending them back.
                    since = sim.TimeProvider.GetUtcNow();
                    emulator.SetHalfOpen(master, true);
                    sim.Partition(master, standby);
                    Console.WriteLine("ok");
                    break;
                case "thaw":
                    since = sim.TimeProvider.GetUtcNow();
                    emulator.SetHalfOpen(master, false);
                    sim.Heal(master, standby);
                    Console.WriteLine("ok");
                    break;
                case "peak":
                    var times = sim.Attempts.Where(a => a.Time >= since).Select(a => a.Time).ToList();
                    var top = times.Count == 0 ? null : times.GroupBy(t => (t - since).Ticks / Bucket.Ticks).MaxBy(g => g.Count());
                    var peak = top?.Count() ?? 0;
                    var first = times.Count == 0 ? 0 : (times.Min() - since).TotalMilliseconds;
                    var last = times.Count == 0 ? 0 : (times.Max() - since).TotalMilliseconds;
                    var peakAt = (top?.Key ?? 0) * Bucket.TotalMilliseconds;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak {peak * (TimeSpan.TicksPerSecond / Bucket.Ticks)} {times.Count} {first:0.#} {last:0.#} {peakAt:0}"));
                    break;
                default:
                    Console.WriteLine($"unknown command {line}");
                    break;
            }
        }

        return 0;
    }

    private static async Task<string> ReadLineAsync(Process process) =>
        await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(5))
        ?? throw new InvalidOperationException("The emulator process ended.");

    private static string Expect(string line, string key) =>
        line.StartsWith(key + " ", StringComparison.Ordinal) ? line[(key.Length + 1)..] : throw new InvalidOperationException($"Unexpected line from the emulator: {line}");
}
