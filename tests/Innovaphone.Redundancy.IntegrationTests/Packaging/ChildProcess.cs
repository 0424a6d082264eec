using System.Diagnostics;
using System.Text;

namespace Innovaphone.Redundancy.Tests.Packaging;

/// <summary>The outcome of a child process: exit code and the interleaved stdout/stderr text.</summary>
public sealed record ChildProcessResult(string CommandLine, int ExitCode, string Output)
{
    /// <summary>The command, exit code and output, for assertion messages.</summary>
    public override string ToString() => $"`{CommandLine}` exited with {ExitCode}:\n{Output}";
}

/// <summary>Runs <c>dotnet</c> commands for the packaging tests, each with a time limit.</summary>
internal static class ChildProcess
{
    /// <summary>
    /// Runs <c>dotnet</c> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>. When
    /// <paramref name="timeout"/> passes or <paramref name="cancellationToken"/> is cancelled, the whole process tree
    /// is killed and the result carries exit code -1 and the output so far.
    /// </summary>
    public static async Task<ChildProcessResult> RunDotnetAsync(
        IReadOnlyList<string> arguments,
        string workingDirectory,
        TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment,
        CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        // The test host may run under MSBuild (dotnet test); its variables would steer the child's MSBuild.
        foreach (var name in startInfo.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            startInfo.Environment.Remove(name);
        }

        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        startInfo.Environment["DOTNET_NOLOGO"] = "1";
        startInfo.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            startInfo.Environment[name] = value;
        }

        var commandLine = $"dotnet {string.Join(' ', arguments)}";
        var output = new StringBuilder();
        using var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            Append(output, cancellationToken.IsCancellationRequested ? "[cancelled; process tree killed]" : $"[timed out after {timeout}; process tree killed]");
            return new ChildProcessResult(commandLine, -1, Snapshot(output));
        }

        // WaitForExitAsync returns once the redirected streams are at their end, so the output is complete.
        return new ChildProcessResult(commandLine, process.ExitCode, Snapshot(output));
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }
}
