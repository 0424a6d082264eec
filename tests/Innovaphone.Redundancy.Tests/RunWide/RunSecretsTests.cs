using FluentAssertions;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Innovaphone.Redundancy.Tests.RunWide;

/// <summary>The run-wide secret sweep finds what it is meant to find, and says where without repeating the secret.</summary>
public sealed class RunSecretsTests
{
    [Fact]
    public void FindLeaks_TextContainingASecret_IsReportedWithoutTheSecret()
    {
        var texts = new Dictionary<string, string>
        {
            ["connected to pbx.example.com"] = "log A",
            ["login failed for session 0011223344556677"] = "exception B",
        };

        var leaks = RunSecrets.FindLeaks(texts, ["0011223344556677", "s3cret-Pa55"]);

        leaks.Should().ContainSingle().Which.Should().StartWith("exception B").And.NotContain("0011223344556677");
    }

    [Fact]
    public void FindLeaks_NoSecretInAnyText_FindsNothing() =>
        RunSecrets.FindLeaks(new Dictionary<string, string> { ["all fine"] = "log" }, ["s3cret-Pa55"]).Should().BeEmpty();

    [Fact]
    public void LoggerProvider_CapturesMessagesAndCountsRecords()
    {
        var before = RunSecrets.LogRecordsSeen;
        using var factory = LoggerFactory.Create(b => b.AddProvider(RunSecrets.LoggerProvider));
        factory.CreateLogger("probe").Log(LogLevel.Information, new EventId(1), "probe", null, (state, _) => state);

        RunSecrets.LogRecordsSeen.Should().BeGreaterThan(before);
    }

    [Fact]
    public void FirstChanceExceptions_AreSeen()
    {
        RunSecrets.Start();
        var before = RunSecrets.ExceptionsSeen;
        try
        {
            throw new InvalidOperationException("probe exception");
        }
        catch (InvalidOperationException)
        {
            // Thrown only to be seen.
        }

        RunSecrets.ExceptionsSeen.Should().BeGreaterThan(before);
    }
}
