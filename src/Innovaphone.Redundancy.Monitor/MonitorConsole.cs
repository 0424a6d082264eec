namespace Innovaphone.Redundancy.Monitor;

/// <summary>The monitor's standard streams: the process's own, or writers a test reads.</summary>
/// <param name="Out">stdout: the story (human lines, or JSON lines with --json).</param>
/// <param name="Error">stderr: logs, the start line, errors.</param>
/// <param name="In">stdin: the password with --password-stdin.</param>
internal sealed record MonitorConsole(TextWriter Out, TextWriter Error, TextReader In)
{
    /// <summary>The process's standard streams.</summary>
    public static MonitorConsole System => new(Console.Out, Console.Error, Console.In);
}
