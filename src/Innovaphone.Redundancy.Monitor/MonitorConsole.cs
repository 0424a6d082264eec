namespace Innovaphone.Redundancy.Monitor;

/// <summary>The monitor's standard streams: the process's own, or writers a test reads.</summary>
/// <param name="Out">stdout: the story (human lines, or JSON lines with --json).</param>
/// <param name="Error">stderr: logs, the start line, errors.</param>
/// <param name="In">stdin: the password with --password-stdin.</param>
internal sealed record MonitorConsole(TextWriter Out, TextWriter Error, TextReader In)
{
    /// <summary>stdin is a terminal: a password typed there is read without echo, after a prompt on stderr.</summary>
    public bool InIsTerminal { get; init; }

    /// <summary>The process's standard streams.</summary>
    public static MonitorConsole System => new(Console.Out, Console.Error, Console.In) { InIsTerminal = !Console.IsInputRedirected };

    /// <summary>One line of <see cref="In"/>, the password; typed at a terminal, it is not echoed.</summary>
    public string? ReadPasswordLine()
    {
        if (!InIsTerminal)
        {
            return In.ReadLine();
        }

        Error.Write("password: ");
        var password = new global::System.Text.StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                Error.WriteLine();
                return password.ToString();
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                password.Length = Math.Max(0, password.Length - 1);
            }
            else if (!char.IsControl(key.KeyChar))
            {
                password.Append(key.KeyChar);
            }
        }
    }
}
