using Microsoft.Extensions.Logging.Testing;

namespace Innovaphone.Redundancy.TestSupport;

/// <summary>
/// One check, shared by the harnesses: no secret appears in a log message, a logged value or a logged exception. The
/// secrets are also handed to <see cref="RunSecrets"/>, which checks them against every text of the whole run.
/// </summary>
internal static class LogSecrets
{
    public static void AssertAbsent(IEnumerable<FakeLogRecord> records, params IEnumerable<string?> secrets)
    {
        var list = secrets.OfType<string>().Where(s => s.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        RunSecrets.AddSecrets(list);
        var leaks = records.Where(r => list.Exists(secret => Leaks(r, secret))).ToList();
        if (leaks.Count > 0)
        {
            throw new InvalidOperationException($"A secret appeared in {leaks.Count} log record(s), e.g. event {leaks[0].Id.Id}.");
        }
    }

    private static bool Leaks(FakeLogRecord record, string secret) =>
        record.Message.Contains(secret, StringComparison.Ordinal)
        || (record.Exception?.ToString().Contains(secret, StringComparison.Ordinal) ?? false)
        || (record.StructuredState?.Any(pair => pair.Value?.Contains(secret, StringComparison.Ordinal) ?? false) ?? false);
}
