using FluentAssertions;
using Innovaphone.Redundancy.Shell;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Shell;

/// <summary>R7 staggered attempts: the delay per PBX, learned from its answer times within RFC 8305's bounds.</summary>
public sealed class StaggerDelaysTests
{
    private static readonly PbxAddress Pbx = PbxAddress.Parse("pbx.example.com/PBX0");
    private static readonly PbxAddress Other = PbxAddress.Parse("other.example.com/PBX0");

    [Fact]
    public void UnknownPbx_GetsTheConfiguredDelay()
    {
        new StaggerDelays(TimeSpan.FromMilliseconds(250)).For(Pbx).Should().Be(TimeSpan.FromMilliseconds(250));
    }

    [Fact]
    public void KnownPbx_GetsTwiceItsSmoothedAnswerTime()
    {
        var delays = new StaggerDelays(TimeSpan.FromMilliseconds(250));
        delays.Learn(Pbx, TimeSpan.FromMilliseconds(400));
        delays.For(Pbx).Should().Be(TimeSpan.FromMilliseconds(800));

        // Smoothed as TCP smooths its round-trip time: 7/8 of the old value, 1/8 of the new sample.
        delays.Learn(Pbx, TimeSpan.FromMilliseconds(1200));
        delays.For(Pbx).Should().Be(TimeSpan.FromMilliseconds(1000));
        delays.For(Other).Should().Be(TimeSpan.FromMilliseconds(250), "what one PBX taught says nothing of another");
    }

    [Fact]
    public void LearnedDelay_StaysWithin100msAnd2s()
    {
        var delays = new StaggerDelays(TimeSpan.FromMilliseconds(250));
        delays.Learn(Pbx, TimeSpan.FromMilliseconds(1));
        delays.For(Pbx).Should().Be(TimeSpan.FromMilliseconds(100), "a loopback PBX answers in a millisecond; RFC 8305 keeps at least 100 ms");
        delays.Learn(Other, TimeSpan.FromSeconds(30));
        delays.For(Other).Should().Be(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public void ConfiguredDelayOutsideTheBounds_WidensThem()
    {
        var delays = new StaggerDelays(TimeSpan.FromSeconds(5));
        delays.Learn(Pbx, TimeSpan.FromSeconds(30));
        delays.For(Pbx).Should().Be(TimeSpan.FromSeconds(5));

        var fast = new StaggerDelays(TimeSpan.FromMilliseconds(20));
        fast.Learn(Pbx, TimeSpan.FromMilliseconds(1));
        fast.For(Pbx).Should().Be(TimeSpan.FromMilliseconds(20));
    }

    [Fact]
    public void Infinite_TurnsStaggeringOff()
    {
        var delays = new StaggerDelays(Timeout.InfiniteTimeSpan);
        delays.Learn(Pbx, TimeSpan.FromMilliseconds(10));
        delays.For(Pbx).Should().Be(Timeout.InfiniteTimeSpan);
    }

    [Fact]
    public void ManyPbxes_TheTableStaysBounded()
    {
        var delays = new StaggerDelays(TimeSpan.FromMilliseconds(250));
        for (var i = 0; i < 1000; i++)
        {
            delays.Learn(PbxAddress.Parse($"pbx{i}.example.com/PBX0"), TimeSpan.FromMilliseconds(400));
        }

        delays.For(PbxAddress.Parse("pbx999.example.com/PBX0")).Should().Be(TimeSpan.FromMilliseconds(800));
        delays.For(PbxAddress.Parse("pbx0.example.com/PBX0")).Should().Be(TimeSpan.FromMilliseconds(250), "an old entry was dropped with the table");
    }
}
