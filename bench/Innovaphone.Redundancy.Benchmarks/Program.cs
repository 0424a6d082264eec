using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Innovaphone.Redundancy.Benchmarks;

/// <summary>
/// Runs the benchmarks (BenchmarkDotNet command line: <c>--filter '*'</c>, <c>--job short</c>, <c>--inProcess</c>, ...)
/// and then prints one line per figure, <c>##figure name value unit ratio-to-baseline</c>, for bench/run.sh.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Contains("--breakdown"))
        {
            AllocationBreakdown.Print();
            return 0;
        }

        var config = DefaultConfig.Instance.AddDiagnoser(MemoryDiagnoser.Default);
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config).ToList();
        var failed = false;
        foreach (var summary in summaries)
        {
            failed |= summary.HasCriticalValidationErrors || summary.Reports.Any(r => !r.Success);
            Print(summary);
        }

        return failed ? 1 : 0;
    }

    private static void Print(Summary summary)
    {
        var baseline = summary.Reports.FirstOrDefault(r => r.BenchmarkCase.Descriptor.Baseline && r.ResultStatistics is not null);
        foreach (var report in summary.Reports.Where(r => r.ResultStatistics is not null))
        {
            var type = report.BenchmarkCase.Descriptor.Type.Name.Replace("Benchmarks", string.Empty, StringComparison.Ordinal);
            var name = $"{type}.{report.BenchmarkCase.Descriptor.WorkloadMethod.Name}";
            var unit = type == "Machine" ? "transition" : "op";
            var mean = report.ResultStatistics!.Mean;
            var bytes = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? 0;
            var baseMean = baseline?.ResultStatistics?.Mean;
            var baseBytes = baseline?.GcStats.GetBytesAllocatedPerOperation(baseline.BenchmarkCase) ?? 0;
            Figure($"{name}.time", mean, $"ns/{unit}", baseMean is > 0 ? mean / baseMean.Value : null);
            Figure($"{name}.alloc", bytes, $"B/{unit}", baseBytes > 0 ? (double)bytes / baseBytes : null);
        }
    }

    private static void Figure(string name, double value, string unit, double? ratio) =>
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"##figure {name} {value:0.##} {unit} {(ratio is { } r ? r.ToString("0.00", CultureInfo.InvariantCulture) : "-")}"));
}
