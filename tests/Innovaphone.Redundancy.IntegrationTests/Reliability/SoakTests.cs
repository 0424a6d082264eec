using FluentAssertions;
using Innovaphone.Redundancy.Soak;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Reliability;

/// <summary>
/// The soak of samples/Innovaphone.Redundancy.Soak, short enough for CI: real WebSockets on loopback, random kills,
/// revivals and partitions for a few seconds, then everything healed. tests/scripts/soak.sh runs the long one.
/// </summary>
public sealed class SoakTests
{
    [Fact]
    public async Task Soak_TenManagersFiveSeconds_NoneStuck_NothingLeaked()
    {
        var output = TestContext.Current.TestOutputHelper;
        var report = await SoakRunner.RunAsync(
            new SoakOptions { Managers = 10, Duration = TimeSpan.FromSeconds(5), Seed = 7, Log = line => output?.WriteLine(line) },
            TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken);
        output?.WriteLine(report.ToString());

        report.FaultsInjected.Should().BePositive();
        report.Recoveries.Should().BePositive("managers went down and came back during the run");
        report.StuckManagers.Should().Be(0);
        report.LeakedSockets.Should().Be(0);
        report.LeakedConnections.Should().Be(0);
    }
}
