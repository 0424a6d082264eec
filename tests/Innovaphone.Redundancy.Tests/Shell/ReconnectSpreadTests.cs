using FluentAssertions;
using Innovaphone.Redundancy.Shell;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Shell;

/// <summary>
/// R7/R8 with <see cref="RedundancyOptions.ReconnectJitter"/>: the managers of one process that lose the same PBX in one
/// burst (a herd) spread their reconnects over one window that opens at the herd's first loss.
/// </summary>
public sealed class ReconnectSpreadTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    private static readonly PbxAddress Master = new("master.example.com");
    private static readonly PbxAddress Slave = new("slave.example.com");
    private readonly FakeTimeProvider _time = new();
    private readonly ReconnectSpread _spread;

    public ReconnectSpreadTests() => _spread = new ReconnectSpread(_time);

    [Fact]
    public void FirstLoss_DrawsFromTheWholeWindow()
    {
        Wait(Master, Window, 0.5).Should().Be(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void LaterLossesOfTheHerd_DrawFromWhatIsLeft_SoTheLastReconnectStaysInTheWindow()
    {
        var opened = _time.GetUtcNow();
        Wait(Master, Window, 0.1);

        // The herd's losses keep arriving, 400 ms apart (within the burst gap of 1 s), for 2 s in all.
        var due = new List<DateTimeOffset>();
        for (var i = 0; i < 5; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(400));
            due.Add(_time.GetUtcNow() + Wait(Master, Window, 0.999999));
        }

        // Each draws near the top of what is left: all end just before the window that opened with the first loss ends.
        due.Should().AllSatisfy(d => (d - opened).Should().BeCloseTo(Window, TimeSpan.FromMilliseconds(10)).And.BeLessThan(Window));
        Wait(Master, Window, 0.5).Should().Be(TimeSpan.FromSeconds(4), "2 s of the window have gone, half of the 8 s left");
    }

    [Fact]
    public void ALossAfterTheBurstGap_OpensANewWindow()
    {
        Wait(Master, Window, 0.5);
        _time.Advance(ReconnectSpread.BurstGap(Window) + TimeSpan.FromTicks(1));

        Wait(Master, Window, 0.5).Should().Be(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void ABurstOlderThanHalfTheWindow_IsNotJoined_ALateLossStillGetsAtLeastHalf()
    {
        Wait(Master, Window, 0.5);
        for (var elapsed = TimeSpan.Zero; elapsed <= ReconnectSpread.MaxJoinAge(Window); elapsed += TimeSpan.FromMilliseconds(500))
        {
            _time.Advance(TimeSpan.FromMilliseconds(500));
            Wait(Master, Window, 0.999999).Should().BeGreaterThanOrEqualTo(Window / 2 - TimeSpan.FromMilliseconds(1));
        }
    }

    [Fact]
    public void LossesOfAnotherPbx_AreAnotherHerd()
    {
        Wait(Master, Window, 0.5);
        _time.Advance(TimeSpan.FromSeconds(0.5));

        Wait(Slave, Window, 0.5).Should().Be(TimeSpan.FromSeconds(5));
        Wait(Master, Window, 0.5).Should().Be(TimeSpan.FromSeconds(4.75));
    }

    [Fact]
    public void TheNetworkComingBack_IsAHerdOfItsOwn()
    {
        Wait(Master, Window, 0.5);
        _time.Advance(TimeSpan.FromSeconds(0.5));

        Wait(null, Window, 0.5).Should().Be(TimeSpan.FromSeconds(5));
        _time.Advance(TimeSpan.FromSeconds(0.5));
        Wait(null, Window, 0.5).Should().Be(TimeSpan.FromSeconds(4.75));
    }

    [Theory]
    [InlineData(-3.0)]
    [InlineData(1.0)]
    [InlineData(7.5)]
    [InlineData(double.NaN)]
    public void ADrawOutOfRange_StaysWithinTheWindow(double draw)
    {
        var delay = Wait(Master, Window, draw);

        delay.Should().BeGreaterThanOrEqualTo(TimeSpan.Zero).And.BeLessThan(Window);
    }

    [Fact]
    public void NoWindow_NoWait()
    {
        Wait(Master, TimeSpan.Zero, 0.5).Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public void ManyPbxes_TheTableIsBounded_AndStillSpreads()
    {
        for (var i = 0; i < 200; i++)
        {
            Wait(new PbxAddress($"pbx{i}.example.com"), Window, 0.5).Should().Be(TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public void ConcurrentLossesOfOneHerd_AllLandInTheOneWindow()
    {
        var delays = new TimeSpan[10_000];
        Parallel.For(0, delays.Length, i => delays[i] = Wait(Master, Window, (i % 1000) / 1000d));

        delays.Should().AllSatisfy(d => d.Should().BeGreaterThanOrEqualTo(TimeSpan.Zero).And.BeLessThan(Window));
        delays.Distinct().Should().HaveCount(1000, "the fake clock stood still: every draw is its own fraction of the one window");
    }

    [Fact]
    public void AHerdOfUpToTheBurstSize_IsNeverPaced()
    {
        var herd = _spread.Delay(Master, Window, 0).Herd!;
        for (var i = 1; i < ReconnectSpread.BurstSize; i++)
        {
            _spread.Delay(Master, Window, 0);
        }

        // All their waits end at the same moment (a stall): each still starts at once.
        Enumerable.Range(0, ReconnectSpread.BurstSize).Select(_ => herd.AdmitAsync(Window)).ToList()
            .Should().AllSatisfy(t => t.IsCompletedSuccessfully.Should().BeTrue());
    }

    [Fact]
    public void AReconnectCancelledWhileItWaits_GivesItsTurnToTheNext()
    {
        // A herd of 10,000: 15 turns per 10 ms tick once the burst is spent.
        var herd = _spread.Delay(Master, Window, 0).Herd!;
        for (var i = 1; i < 10_000; i++)
        {
            _spread.Delay(Master, Window, 0);
        }

        Enumerable.Range(0, ReconnectSpread.BurstSize).Select(_ => herd.AdmitAsync(Window)).ToList()
            .Should().AllSatisfy(t => t.IsCompletedSuccessfully.Should().BeTrue(), "the burst starts at once");
        using var stopped = new CancellationTokenSource();
        var cancelled = Enumerable.Range(0, 15).Select(_ => herd.AdmitAsync(Window, cancellationToken: stopped.Token)).ToList();
        var next = Enumerable.Range(0, 15).Select(_ => herd.AdmitAsync(Window)).ToList();

        stopped.Cancel();
        _time.Advance(ReconnectSpread.PumpPeriod);

        cancelled.Should().AllSatisfy(t => t.IsCanceled.Should().BeTrue());
        next.Should().AllSatisfy(t => t.IsCompletedSuccessfully.Should().BeTrue(), "the first tick's 15 turns go to the 15 still waiting");
        _spread.WaitingFor(Master).Should().Be(0);
    }

    [Fact]
    public void ABacklogAfterAStall_IsLetThroughAtOneAndAHalfTimesTheHerdsShare_AndALateTickReleasesNoMoreThanABurst()
    {
        // 10,000 managers lost the master; 520 of their waits fell due in a stall and end together.
        var herd = _spread.Delay(Master, Window, 0).Herd!;
        for (var i = 1; i < 10_000; i++)
        {
            _spread.Delay(Master, Window, 0);
        }

        var turns = Enumerable.Range(0, 520).Select(_ => herd.AdmitAsync(Window)).ToList();

        // The bucket lets 20 start at once; the rest queue in order.
        turns.Take(ReconnectSpread.BurstSize).Should().AllSatisfy(t => t.IsCompletedSuccessfully.Should().BeTrue());
        turns.Skip(ReconnectSpread.BurstSize).Should().AllSatisfy(t => t.IsCompleted.Should().BeFalse());
        _spread.WaitingFor(Master).Should().Be(500);

        // Each tick of the herd's timer lets through what 10 ms refill at 1.5 x 10,000 / 10 s: 15.
        _time.Advance(ReconnectSpread.PumpPeriod);
        Released().Should().Be(ReconnectSpread.BurstSize + 15);
        _time.Advance(ReconnectSpread.PumpPeriod);
        Released().Should().Be(ReconnectSpread.BurstSize + 30);

        // The timer comes 300 ms late (another stall): it lets through two periods' worth, not 300 ms worth.
        var late = new FakeTimeProvider(_time.GetUtcNow());
        var spreadWithLateTicks = new ReconnectSpread(late);
        var lateHerd = spreadWithLateTicks.Delay(Master, Window, 0).Herd!;
        for (var i = 1; i < 10_000; i++)
        {
            spreadWithLateTicks.Delay(Master, Window, 0);
        }

        var lateTurns = Enumerable.Range(0, 520).Select(_ => lateHerd.AdmitAsync(Window)).ToList();
        late.AdjustTime(late.GetUtcNow() + TimeSpan.FromMilliseconds(300));
        late.Advance(ReconnectSpread.PumpPeriod);
        lateTurns.Count(t => t.IsCompleted).Should().Be(ReconnectSpread.BurstSize + 30, "the first burst at once, then two periods' worth (2 x 15) for the late tick");

        // The queue runs dry, tick by tick: every turn comes.
        for (var tick = 0; tick < 100; tick++)
        {
            _time.Advance(ReconnectSpread.PumpPeriod);
        }

        turns.Should().AllSatisfy(t => t.IsCompletedSuccessfully.Should().BeTrue());
        _spread.WaitingFor(Master).Should().Be(0);

        int Released() => turns.Count(t => t.IsCompleted);
    }

    private TimeSpan Wait(PbxAddress? pbx, TimeSpan window, double draw) => _spread.Delay(pbx, window, draw).Wait;
}
