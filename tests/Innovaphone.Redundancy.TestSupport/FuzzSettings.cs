using System.Globalization;
using Xunit;

namespace Innovaphone.Redundancy.TestSupport;

/// <summary>
/// The fuzzers' shared settings (credentials, seed, frame counts, the report for tests/scripts/fuzz.sh): the unit
/// tests' login fuzzer and the integration tests' fuzzers (post-login, secret leaks) use the same ones.
/// </summary>
internal static class FuzzSettings
{
    internal const string User = "alice";
    internal const string Password = "fuzz-Pa55word";
    internal const string SessionId = "fuzz-session-id";
    internal const string SessionPassword = "fuzz-session-pw";
    private const int DefaultSeed = 20_261_125;

    private static readonly object ReportGate = new();

    internal static int FrameCount(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : fallback;

    /// <summary>Writes a summary line to the test output and, when <c>FUZZ_REPORT</c> names a file, appends it there (tests/scripts/fuzz.sh).</summary>
    internal static void Report(string line)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        if (Environment.GetEnvironmentVariable("FUZZ_REPORT") is { Length: > 0 } path)
        {
            lock (ReportGate)
            {
                File.AppendAllText(path, line + Environment.NewLine);
            }
        }
    }

    internal static int Seed() =>
        int.TryParse(Environment.GetEnvironmentVariable("FUZZ_SEED"), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var s) ? s : DefaultSeed;
}
