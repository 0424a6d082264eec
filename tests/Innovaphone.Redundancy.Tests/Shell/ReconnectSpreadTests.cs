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
        _spread.Delay(Master, Window, 0.5).Should().Be(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void LaterLossesOfTheHerd_DrawFromWhatIsLeft_SoTheLastReconnectStaysInTheWindow()
    {
        var opened = _time.GetUtcNow();
        _spread.Delay(Master, Window, 0.1);

        // The herd's losses keep arriving, 400 ms apart (within the burst gap of 1 s), for 2 s in all.
        var due = new List<DateTimeOffset>();
        for (var i = 0; i < 5; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(400));
            due.Add(_time.GetUtcNow() + _spread.Delay(Master, Window, 0.999999));
        }

        // Each draws near the top of what is left: all end just before the window that opened with the first loss ends.
        due.Should().AllSatisfy(d => (d - opened).Should().BeCloseTo(Window, TimeSpan.FromMilliseconds(10)).And.BeLessThan(Window));
        _spread.Delay(Master, Window, 0.5).Should().Be(TimeSpan.FromSeconds(4), "2 s of the window have gone, half of the 8 s left");
    }

    [Fact]
    public void ALossAfterTheBurstGap_OpensANewWindow()
    {
        _spread.Delay(Master, Window, 0.5);
        _time.Advance(ReconnectSpread.BurstGap(Window) + TimeSpan.FromTicks(1));

        _spread.Delay(Master, Window, 0.5).Should().Be(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void ABurstOlderThanHalfTheWindow_IsNotJoined_ALateLossStillGetsAtLeastHalf()
    {
        _spread.Delay(Master, Window, 0.5);
        for (var elapsed = TimeSpan.Zero; elapsed <= ReconnectSpread.MaxJoinAge(Window); elapsed += TimeSpan.FromMilliseconds(500))
        {
            _time.Advance(TimeSpan.FromMilliseconds(500));
            _spread.Delay(Master, Window, 0.999999).Should().BeGreaterThanOrEqualTo(Window / 2 - TimeSpan.FromMilliseconds(1));
        }
    }

    [Fact]
    public void LossesOfAnotherPbx_AreAnotherHerd()
    {
        _spread.Delay(Master, Window, 0.5);
        _time.Advance(TimeSpan.FromSeconds(0.5));

        _spread.Delay(Slave, Window, 0.5).Should().Be(TimeSpan.FromSeconds(5));
        _spread.Delay(Master, Window, 0.5).Should().Be(TimeSpan.FromSeconds(4.75));
    }

    [Fact]
    public void TheNetworkComingBack_IsAHerdOfItsOwn()
    {
        _spread.Delay(Master, Window, 0.5);
        _time.Advance(TimeSpan.FromSeconds(0.5));

        _spread.Delay(null, Window, 0.5).Should().Be(TimeSpan.FromSeconds(5));
        _time.Advance(TimeSpan.FromSeconds(0.5));
        _spread.Delay(null, Window, 0.5).Should().Be(TimeSpan.FromSeconds(4.75));
    }

    [Theory]
    [InlineData(-3.0)]
    [InlineData(1.0)]
    [InlineData(7.5)]
    [InlineData(double.NaN)]
    public void ADrawOutOfRange_StaysWithinTheWindow(double draw)
    {
        var delay = _spread.Delay(Master, Window, draw);

        delay.Should().BeGreaterThanOrEqualTo(TimeSpan.Zero).And.BeLessThan(Window);
    }

    [Fact]
    public void NoWindow_NoWait()
    {
        _spread.Delay(Master, TimeSpan.Zero, 0.5).Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public void ManyPbxes_TheTableIsBounded_AndStillSpreads()
    {
        for (var i = 0; i < 200; i++)
        {
            _spread.Delay(new PbxAddress($"pbx{i}.example.com"), Window, 0.5).Should().Be(TimeSpan.FromSeconds(5));
        }
    }

    [Fact]
    public void ConcurrentLossesOfOneHerd_AllLandInTheOneWindow()
    {
        var delays = new TimeSpan[10_000];
        Parallel.For(0, delays.Length, i => delays[i] = _spread.Delay(Master, Window, (i % 1000) / 1000d));

        delays.Should().AllSatisfy(d => d.Should().BeGreaterThanOrEqualTo(TimeSpan.Zero).And.BeLessThan(Window));
        delays.Distinct().Should().HaveCount(1000, "the fake clock stood still: every draw is its own fraction of the one window");
    }
}
