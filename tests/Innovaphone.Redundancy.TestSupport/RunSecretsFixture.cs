using Xunit;

namespace Innovaphone.Redundancy.TestSupport;

/// <summary>
/// Lives for the whole test run of each test assembly that names it in an <c>[assembly: AssemblyFixture]</c>: starts <see cref="RunSecrets"/> before the first test and, after the last one,
/// fails the run if any log record or exception message of the run contained a registered secret.
/// </summary>
public sealed class RunSecretsFixture : IDisposable
{
    public RunSecretsFixture() => RunSecrets.Start();

    public void Dispose()
    {
        RunSecrets.Stop();
        var leaks = RunSecrets.FindLeaks();
        var summary = $"secret sweep: {RunSecrets.SecretCount} secrets against {RunSecrets.DistinctTextCount} distinct texts "
            + $"({RunSecrets.LogRecordsSeen} log records, {RunSecrets.ExceptionsSeen} exceptions): {leaks.Count} leak(s)";
        Console.Error.WriteLine(summary);
        if (leaks.Count > 0)
        {
            throw new InvalidOperationException(summary + Environment.NewLine + string.Join(Environment.NewLine, leaks.Take(20)));
        }
    }
}
