using System.Globalization;

namespace Innovaphone.Redundancy.Failover;

/// <summary>Prints figures as <c>##figure name value unit ratio [note]</c> lines (bench/run.sh strips the marker); the note is a target and whether it was met.</summary>
internal static class Figures
{
    public static void Print(string name, double value, string unit, double? ratio = null, string? note = null) =>
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"##figure {name} {value:0.###} {unit} {(ratio is { } r ? r.ToString(r < 0.1 ? "0.0000" : "0.00", CultureInfo.InvariantCulture) : "-")}{(note is null ? "" : "  " + note)}"));

    /// <summary>The value at <paramref name="p"/> (0..1) of <paramref name="sorted"/>, nearest rank.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    public static (double P50, double P99, double Max) Summarise(IEnumerable<double> samples)
    {
        var sorted = samples.Order().ToList();
        return (Percentile(sorted, 0.5), Percentile(sorted, 0.99), sorted.Count == 0 ? double.NaN : sorted[^1]);
    }
}
