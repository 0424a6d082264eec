using System.Globalization;

namespace Innovaphone.Redundancy.FieldCheck;

/// <summary>
/// One measured figure over several runs: samples in milliseconds (or a count), <see langword="null"/> for a run that did
/// not reach the event before the case's hard timeout. A timed-out run counts as slower than any other, so a p50 is
/// "timeout" once half the runs timed out: a figure never looks better because its worst runs were dropped.
/// </summary>
internal sealed class Figure(string name, string unit)
{
    private readonly List<double?> _samples = [];

    public string Name { get; } = name;

    /// <summary><c>ms</c>, <c>s</c> (samples are still kept in ms), <c>changes</c> (a count) or <c>x</c> (a ratio).</summary>
    public string Unit { get; } = unit;

    public IReadOnlyList<double?> Samples => _samples;

    /// <summary>The upper limit in the samples' own scale (ms or count); null: no target, the figure is for information.</summary>
    public double? Limit { get; set; }

    /// <summary>Adds one run: milliseconds or a count, <see langword="null"/> for a run that timed out.</summary>
    public void Add(double? sample) => _samples.Add(sample);

    /// <summary>The median; null if no run or if it fell on a timed-out run.</summary>
    public double? P50 => Percentile(0.5);

    /// <summary>The slowest run; null if no run or any timed out.</summary>
    public double? Max => _samples.Count == 0 || _samples.Any(s => s is null) ? null : _samples.Max();

    public bool TimedOut => _samples.Any(s => s is null);

    /// <summary><c>case runtime p50 max unit target verdict</c>.</summary>
    public string Format(string runtime)
    {
        var verdict = _samples.Count == 0 ? "n/a"
            : Limit is not { } limit ? TimedOut ? "info(timeout)" : "info"
            : !TimedOut && P50 <= limit ? "ok"
            : "MISS";
        return $"{Name} {runtime} {Value(P50)} {Value(Max)} {Unit} {TargetText()} {verdict}";
    }

    /// <summary>The runs one by one, for the comment line under the figure.</summary>
    public string RunsText() => string.Join(' ', _samples.Select(Value));

    private string TargetText() => Limit is { } limit ? "<=" + Scaled(limit) : "-";

    private string Value(double? value) => _samples.Count == 0 ? "-" : value is { } v ? Scaled(v) : "timeout";

    private string Scaled(double value) => Unit switch
    {
        "s" => (value / 1000).ToString("0.00", CultureInfo.InvariantCulture),
        "changes" => value.ToString("0", CultureInfo.InvariantCulture),
        "x" => value.ToString("0.00", CultureInfo.InvariantCulture),
        _ => value.ToString("0.0", CultureInfo.InvariantCulture),
    };

    private double? Percentile(double p)
    {
        if (_samples.Count == 0)
        {
            return null;
        }

        // Nearest rank over the runs with timeouts last: with 5 runs the p50 is the 3rd fastest.
        var sorted = _samples.OrderBy(s => s ?? double.PositiveInfinity).ToList();
        var rank = (int)Math.Ceiling(p * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
    }
}
