using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Innovaphone.Redundancy.Monitor;

/// <summary>
/// What the monitor writes on stdout. For a person: one line per state change (time, state, PBX, attempt, reason, next
/// attempt) and one per connInfo change. With --json: the connInfo JSON object per line, exactly as
/// <see cref="ConnInfo.ToJson"/> writes it (scripts parse these lines); with --events also one JSON line per state
/// change, told apart by its <c>"type":"state"</c>. Each line is flushed at once.
/// </summary>
/// <param name="output">stdout.</param>
/// <param name="settings">Which form.</param>
/// <param name="zone">The time zone of the human lines (the machine's local one; tests pin it).</param>
/// <param name="time">The clock that stamps connInfo lines (a connInfo change carries no time of its own).</param>
internal sealed class MonitorOutput(TextWriter output, MonitorSettings settings, TimeZoneInfo zone, TimeProvider time)
{
    // The state and connInfo subscriptions call in on threads of their own: one line at a time.
    private readonly object _gate = new();

    /// <summary>Writes a state change (human form, or a JSON line with --events; nothing with --json alone).</summary>
    public void OnStateChange(RedundancyStateChange change)
    {
        if (settings.Json && !settings.Events)
        {
            return;
        }

        Write(settings.Json ? StateJson(change) : StateLine(change, zone));
    }

    /// <summary>Writes a connInfo change.</summary>
    public void OnConnInfo(ConnInfo info) =>
        Write(settings.Json ? info.ToJson() : ConnInfoLine(info, time.GetUtcNow(), zone));

    /// <summary>
    /// The PBX asks the user to sign in: <c>sign in: &lt;url&gt;</c> on stderr, always (a person opens it), and with --events
    /// also <c>{"type":"sign-in","url":"...","pbx":"..."}</c> on stdout.
    /// </summary>
    public void OnSignIn(TextWriter error, Transport.WebSockets.MyAppsSignIn signIn)
    {
        WriteTo(error, $"sign in: {signIn.Url.AbsoluteUri}");
        if (settings.Events)
        {
            Write(Json(json =>
            {
                json.WriteString("type", "sign-in");
                json.WriteString("url", signIn.Url.AbsoluteUri);
                json.WriteString("pbx", signIn.Pbx.ToString());
            }));
        }
    }

    /// <summary>
    /// The PBX shows a code to confirm the sign-in on another device (two-factor): <c>sign-in code: &lt;code&gt;</c> on stderr,
    /// and with --events also <c>{"type":"sign-in-code","code":1234}</c> on stdout.
    /// </summary>
    public void OnSignInCode(TextWriter error, int code)
    {
        WriteTo(error, string.Create(CultureInfo.InvariantCulture, $"sign-in code: {code}"));
        if (settings.Events)
        {
            Write(Json(json =>
            {
                json.WriteString("type", "sign-in-code");
                json.WriteNumber("code", code);
            }));
        }
    }

    /// <summary>
    /// <c>16:01:02.345 state    Failover   pbx=pbx-a.example.com/PBX0 attempt=2 reason "..." next attempt 16:01:04.345</c>.
    /// </summary>
    public static string StateLine(RedundancyStateChange change, TimeZoneInfo zone)
    {
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"{Clock(change.Timestamp, zone)} state    {change.Current,-10}");
        if (change.Target is { } target)
        {
            line.Append(CultureInfo.InvariantCulture, $" pbx={target}");
        }

        if (change.Attempt > 0)
        {
            line.Append(CultureInfo.InvariantCulture, $" attempt={change.Attempt}");
        }

        line.Append(CultureInfo.InvariantCulture, $" reason \"{change.Reason}\"");
        if (change.NextAttemptAt is { } next)
        {
            line.Append(CultureInfo.InvariantCulture, $" next attempt {Clock(next, zone)}");
        }

        return line.ToString();
    }

    /// <summary><c>16:01:02.400 connInfo up standby cur=... pri=... sec=... phys=...</c> (<c>up</c>, <c>up standby</c> or <c>down</c>).</summary>
    public static string ConnInfoLine(ConnInfo info, DateTimeOffset at, TimeZoneInfo zone)
    {
        var state = info.Up ? info.Standby ? "up standby" : "up" : "down";
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{Clock(at, zone)} connInfo {state} cur={Text(info.Cur)} pri={Text(info.Pri)} sec={Text(info.Sec)} phys={info.Phys ?? "-"}");
    }

    /// <summary>
    /// <c>{"type":"state","time":"2026-11-29T16:01:02.345+00:00","state":"Failover","previous":"Connecting","reason":"...",
    /// "pbx":"host/PBX0","attempt":2,"nextAttemptAt":"..."}</c>; pbx and nextAttemptAt are null when the change has none.
    /// </summary>
    public static string StateJson(RedundancyStateChange change) => Json(json =>
    {
        json.WriteString("type", "state");
        json.WriteString("time", change.Timestamp);
        json.WriteString("state", change.Current.ToString());
        json.WriteString("previous", change.Previous.ToString());
        json.WriteString("reason", change.Reason);
        json.WriteString("pbx", change.Target?.ToString());
        json.WriteNumber("attempt", change.Attempt);
        if (change.NextAttemptAt is { } next)
        {
            json.WriteString("nextAttemptAt", next);
        }
        else
        {
            json.WriteNull("nextAttemptAt");
        }
    });

    /// <summary>One JSON object, written by <paramref name="properties"/>, as a line of text.</summary>
    private static string Json(Action<Utf8JsonWriter> properties)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            properties(json);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string Clock(DateTimeOffset at, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(at, zone).ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);

    private static string Text(PbxAddress? pbx) => pbx?.ToString() ?? "-";

    private void Write(string line) => WriteTo(output, line);

    private void WriteTo(TextWriter writer, string line)
    {
        lock (_gate)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }
}
