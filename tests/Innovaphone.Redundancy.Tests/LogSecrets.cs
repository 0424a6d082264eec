using Microsoft.Extensions.Logging.Testing;

namespace Innovaphone.Redundancy.Tests;

/// <summary>One check, shared by the harnesses: a secret appears in no log message and no logged exception.</summary>
internal static class LogSecrets
{
    public static void AssertAbsent(IEnumerable<FakeLogRecord> records, string secret)
    {
        var leaks = records.Where(l => l.Message.Contains(secret, StringComparison.Ordinal)
                                       || (l.Exception?.ToString().Contains(secret, StringComparison.Ordinal) ?? false)).ToList();
        if (leaks.Count > 0)
        {
            throw new InvalidOperationException($"A secret appeared in {leaks.Count} log record(s), e.g. event {leaks[0].Id.Id}.");
        }
    }
}
