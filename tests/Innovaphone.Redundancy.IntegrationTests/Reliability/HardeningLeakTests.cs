using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Reliability;

/// <summary>
/// Issue 14, point 4: nothing grows with the number of Stop/Start cycles. Memory is measured for the whole process, so
/// this class runs alone (its collection is not run in parallel with any other), or other tests' allocations would be
/// counted as a leak.
/// </summary>
[Collection(nameof(HardeningLeakTests))]
public sealed class HardeningLeakTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Leaks_TenThousandStopStartCycles_WithAttemptsInFlight_MemoryStaysFlat()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
        using var sim = new SimulatedPbxSystem(time);
        var pbx = sim.AddMaster("pbx.example.com");
        sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, pbx);

        // Every attempt hangs until it is cancelled, so that each Stop cancels one in flight.
        sim.SetHanging(pbx, true);
        var manager = new RedundancyManager(new RedundancyOptions
        {
            Primary = pbx.Address,
            Transport = sim.CreateTransport(ScenarioHarness.User, ScenarioHarness.Password),
            User = ScenarioHarness.User,
            TimeProvider = time,
            AttemptTimeout = TimeSpan.FromSeconds(5),
        });
        await using var disposing = manager;
        var token = TestContext.Current.CancellationToken;
        long at1000 = 0;
        for (var cycle = 1; cycle <= 10_000; cycle++)
        {
            await manager.StartAsync(token).WaitAsync(Guard, token);
            await manager.StopAsync(token).WaitAsync(Guard, token);
            if (cycle % 500 == 0)
            {
                sim.ClearAttempts();
            }

            if (cycle == 1_000)
            {
                at1000 = SettledMemory();
            }
        }

        var growth = SettledMemory() - at1000;

        // A leaked cancellation source with its registration on the lifetime token is some 200 bytes a cycle (1.8 MB over
        // 9,000 cycles); allow a quarter of that for GC noise.
        growth.Should().BeLessThan(450_000, $"memory grew by {growth} bytes over 9,000 Stop/Start cycles");
    }

    private static long SettledMemory()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }
}

/// <summary>Runs <see cref="HardeningLeakTests"/> after every parallel collection, with nothing else running.</summary>
[CollectionDefinition(nameof(HardeningLeakTests), DisableParallelization = true)]
public sealed class HardeningLeakTestsRunAlone;
