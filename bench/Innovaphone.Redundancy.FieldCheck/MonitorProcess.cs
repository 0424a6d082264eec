using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Innovaphone.Redundancy.FieldCheck;

/// <summary>One connInfo line of the Monitor, stamped when the runner read it.</summary>
/// <param name="Index">Its position among the connInfo lines of this Monitor (0 = the first).</param>
/// <param name="Timestamp">A <see cref="Stopwatch.GetTimestamp"/> value taken right after the line was read.</param>
/// <param name="Info">The parsed connInfo.</param>
internal sealed record Observation(int Index, long Timestamp, ConnInfo Info);

/// <summary>
/// The Monitor CLI as a child process, started as a user starts it: <c>--pbx --user --password-env --insecure --json</c> and
/// nothing else, so that every figure is what the library's defaults give. Its stdout is read line by line on a dedicated
/// thread and each line is stamped on arrival (a thread-pool reader would add the pool's queueing delay of a busy 2-core box
/// to the figures); stderr goes to a log file. Disposal kills the whole process tree, whatever state the case left it in.
/// </summary>
internal sealed class MonitorProcess : IAsyncDisposable
{
    /// <summary>The variable that carries the password: the Monitor takes it only from the environment.</summary>
    public const string PasswordVariable = "FIELDCHECK_PASSWORD";

    /// <summary>Every Monitor still running, so that Ctrl-C or a crash of the runner leaves no child behind.</summary>
    private static readonly ConcurrentDictionary<MonitorProcess, byte> s_live = new();

    /// <summary>Set by <see cref="KillAll"/>: a Monitor started while the runner is ending is killed at once.</summary>
    private static volatile bool s_ending;

    private readonly Process _process;
    private readonly Thread _reader;
    private readonly Task _stderrCopy;
    private readonly FileStream _stderrLog;
    private readonly StreamWriter _stdoutLog;
    private readonly object _gate = new();
    private readonly List<Observation> _observations = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _exited;
    private int _disposed;

    private MonitorProcess(Process process, long startedAt, string logPrefix)
    {
        _process = process;
        StartedAt = startedAt;
        _stdoutLog = new StreamWriter(logPrefix + ".stdout.log") { AutoFlush = true };
        _stderrLog = new FileStream(logPrefix + ".stderr.log", FileMode.Create, FileAccess.Write, FileShare.Read);
        _stderrCopy = process.StandardError.BaseStream.CopyToAsync(_stderrLog);
        _reader = new Thread(ReadStdout) { IsBackground = true, Name = "monitor stdout" };
        _reader.Start();
    }

    /// <summary>The <see cref="Stopwatch.GetTimestamp"/> value taken right before the process was started.</summary>
    public long StartedAt { get; }

    /// <summary>The OS process id of the Monitor.</summary>
    public int ProcessId => _process.Id;

    /// <summary>How many connInfo lines have arrived so far; pass it as <c>from</c> to wait only for later ones.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _observations.Count;
            }
        }
    }

    /// <summary>Starts the Monitor at <paramref name="pbx"/>; its logs go to <paramref name="logPrefix"/><c>.stdout.log</c> and <c>.stderr.log</c>.</summary>
    /// <param name="command">The Monitor's command line.</param>
    /// <param name="pbx">The PBX to start at.</param>
    /// <param name="user">The user.</param>
    /// <param name="password">The password (passed in <see cref="PasswordVariable"/>).</param>
    /// <param name="logPrefix">Where its stdout and stderr are logged.</param>
    /// <param name="thumbprint">
    /// Null: plain ws:// (<c>--insecure</c>, the loopback emulator's default); else wss:// with the PBX certificate pinned
    /// by this SHA-256 thumbprint (<c>--trust-thumbprint</c>), as a user with a self-signed PBX certificate runs it.
    /// </param>
    /// <param name="environment">Extra environment variables (experiments only).</param>
    public static MonitorProcess Start(
        IReadOnlyList<string> command,
        PbxAddress pbx,
        string user,
        string password,
        string logPrefix,
        string? thumbprint = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in command.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        // Exactly what a user types: no tuning flag. The state file is the default one (one per primary and user; each
        // run's emulator has fresh ports, so no run reads another's), under a data folder of the runner's own, so that
        // the runs leave nothing in the home folder.
        string[] security = thumbprint is null ? ["--insecure"] : ["--trust-thumbprint", thumbprint];
        foreach (var argument in (string[])["--pbx", pbx.ToString(), "--user", user, "--password-env", PasswordVariable, .. security, "--json"])
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        info.Environment[PasswordVariable] = password;
        info.Environment["XDG_DATA_HOME"] = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(logPrefix))!, "data");
        var startedAt = Stopwatch.GetTimestamp();
        var process = Process.Start(info) ?? throw new InvalidOperationException($"'{command[0]}' did not start.");
        var monitor = new MonitorProcess(process, startedAt, logPrefix);
        s_live.TryAdd(monitor, 0);
        if (s_ending)
        {
            monitor.Kill();
        }

        return monitor;
    }

    /// <summary>Kills every Monitor still running (Ctrl-C of the runner, process exit).</summary>
    public static void KillAll()
    {
        s_ending = true;
        foreach (var monitor in s_live.Keys)
        {
            monitor.Kill();
        }
    }

    /// <summary>
    /// Waits for the first connInfo line at index <paramref name="from"/> or later that matches; <see langword="null"/> when
    /// <paramref name="deadline"/> (a <see cref="Stopwatch"/> timestamp) passes or the Monitor exits first.
    /// </summary>
    public async Task<Observation?> WaitForAsync(Func<ConnInfo, bool> match, int from, long deadline)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                for (var i = from; i < _observations.Count; i++)
                {
                    if (match(_observations[i].Info))
                    {
                        return _observations[i];
                    }
                }

                from = _observations.Count;
                if (_exited)
                {
                    return null;
                }

                changed = _changed.Task;
            }

            var remaining = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), deadline);
            if (remaining <= TimeSpan.Zero)
            {
                return null;
            }

            try
            {
                await changed.WaitAsync(remaining);
            }
            catch (TimeoutException)
            {
                return null;
            }
        }
    }

    /// <summary>The connInfo lines from index <paramref name="from"/> on.</summary>
    public IReadOnlyList<Observation> Since(int from)
    {
        lock (_gate)
        {
            return [.. _observations.Skip(from)];
        }
    }

    /// <summary>
    /// Which .NET runtime the Monitor runs on, read from the CoreCLR it loaded (<c>/proc/&lt;pid&gt;/maps</c>): the
    /// label given on the command line could be wrong, the loaded runtime cannot. Null where that cannot be read.
    /// </summary>
    public string? LoadedRuntime()
    {
        try
        {
            var coreclr = File.ReadLines($"/proc/{_process.Id}/maps")
                .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(fields => fields.Length >= 6 && fields[^1].EndsWith("/libcoreclr.so", StringComparison.Ordinal))
                .Select(fields => fields[^1])
                .FirstOrDefault();
            if (coreclr is null)
            {
                return null;
            }

            var directory = Path.GetDirectoryName(coreclr)!;
            var corelib = Path.Combine(directory, "System.Private.CoreLib.dll");
            var version = File.Exists(corelib) ? FileVersionInfo.GetVersionInfo(corelib).ProductVersion : null;
            return $"{version?.Split('+')[0] ?? "unknown version"} from {directory}";
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Kill();
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            await _stderrCopy.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            Console.Error.WriteLine($"fieldcheck: Monitor {_process.Id} did not end within 10 s of being killed");
        }
        catch (IOException)
        {
            // The pipe broke while the process died: what was logged until then is in the file.
        }

        _reader.Join(TimeSpan.FromSeconds(5));
        s_live.TryRemove(this, out _);
        lock (_gate)
        {
            _stdoutLog.Dispose();
        }

        await _stderrLog.DisposeAsync();
        _process.Dispose();
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // It ended on its own in the meantime.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // It is ending already.
        }
    }

    private void ReadStdout()
    {
        try
        {
            while (_process.StandardOutput.ReadLine() is { } line)
            {
                var now = Stopwatch.GetTimestamp();
                ConnInfo? info = null;
                try
                {
                    info = ConnInfo.FromJson(line);
                }
                catch (JsonException)
                {
                    // Not a connInfo line; it is logged below and otherwise ignored.
                }

                TaskCompletionSource changed;
                lock (_gate)
                {
                    var ms = Stopwatch.GetElapsedTime(StartedAt, now).TotalMilliseconds;
                    _stdoutLog.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{ms,10:0.0} ms {line}"));
                    if (info is null)
                    {
                        continue;
                    }

                    _observations.Add(new Observation(_observations.Count, now, info));
                    changed = _changed;
                    _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                changed.TrySetResult();
            }
        }
        catch (IOException)
        {
            // The pipe broke because the process was killed.
        }
        catch (ObjectDisposedException)
        {
            // Disposal raced with the last read.
        }
        finally
        {
            TaskCompletionSource changed;
            lock (_gate)
            {
                _exited = true;
                changed = _changed;
            }

            changed.TrySetResult();
        }
    }
}
