using System.Text;

namespace Innovaphone.Redundancy.TestSupport;

/// <summary>A writer that keeps what is written as lines and lets a test wait for a line, without sleeping.</summary>
internal sealed class LineWriter : TextWriter
{
    private readonly object _gate = new();
    private readonly StringBuilder _partial = new();
    private readonly List<string> _lines = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override Encoding Encoding => Encoding.UTF8;

    /// <summary>The complete lines so far.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_gate)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>Everything written so far, the unfinished line included.</summary>
    public string Text
    {
        get
        {
            lock (_gate)
            {
                return string.Join('\n', _lines) + (_lines.Count > 0 ? "\n" : string.Empty) + _partial;
            }
        }
    }

    public override void Write(char value)
    {
        TaskCompletionSource? changed = null;
        lock (_gate)
        {
            if (value == '\n')
            {
                _lines.Add(_partial.ToString().TrimEnd('\r'));
                _partial.Clear();
                changed = _changed;
                _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            else
            {
                _partial.Append(value);
            }
        }

        changed?.TrySetResult();
    }

    public override void Write(string? value)
    {
        foreach (var c in value ?? string.Empty)
        {
            Write(c);
        }
    }

    /// <summary>The first line from index <paramref name="from"/> on that matches, once written; throws after <paramref name="timeout"/>.</summary>
    public async Task<(int Index, string Line)> WaitForAsync(Func<string, bool> match, TimeSpan timeout, int from = 0)
    {
        using var limit = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                for (var i = from; i < _lines.Count; i++)
                {
                    if (match(_lines[i]))
                    {
                        return (i, _lines[i]);
                    }
                }

                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"No matching line within {timeout}; written so far:\n{Text}");
            }
        }
    }
}
