using FluentAssertions;
using Innovaphone.Redundancy.Softphone;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Softphone;

/// <summary>The pure rules: connInfo + host settings -> registration targets and physical location, one test per rule.</summary>
public sealed class SoftphoneRegistrationPolicyTests
{
    private static readonly PbxAddress Pri = PbxAddress.Parse("master.example.com/PBX0");
    private static readonly PbxAddress Sec = PbxAddress.Parse("standby.example.com/PBX0");
    private static readonly PbxAddress Cur = PbxAddress.Parse("slave.example.com/PBX0");

    private static readonly SoftphoneRegistrationOptions Launcher = new() { HostKind = SoftphoneHostKind.Launcher };
    private static readonly SoftphoneRegistrationOptions Browser = new() { HostKind = SoftphoneHostKind.Browser };

    private static ConnInfo Info(bool up = true, PbxAddress? cur = null, PbxAddress? pri = null, PbxAddress? sec = null, string? phys = null) =>
        new(up, false, cur, pri, sec, phys);

    [Fact]
    public void Launcher_RegistersToPrimaryThenSecondary_WhetherOrNotTheClientIsUp()
    {
        SoftphoneRegistrationPolicy.Plan(Info(up: true, cur: Cur, pri: Pri, sec: Sec), Launcher).Targets.Should().Equal(Pri, Sec);
        SoftphoneRegistrationPolicy.Plan(Info(up: false, cur: null, pri: Pri, sec: Sec), Launcher).Targets.Should().Equal(Pri, Sec);
    }

    [Fact]
    public void Launcher_WithoutSecondary_RegistersOnlyToPrimary()
    {
        SoftphoneRegistrationPolicy.Plan(Info(cur: Pri, pri: Pri, sec: null), Launcher).Targets.Should().Equal(Pri);
        SoftphoneRegistrationPolicy.Plan(Info(cur: Pri, pri: Pri, sec: Pri), Launcher).Targets.Should().Equal([Pri], "a secondary equal to the primary adds nothing");
    }

    [Fact]
    public void Browser_AlwaysRegistersToCur_NotToPrimaryOrSecondary()
    {
        var plan = SoftphoneRegistrationPolicy.Plan(Info(up: true, cur: Cur, pri: Pri, sec: Sec), Browser);

        plan.Targets.Should().Equal(Cur);
        plan.ShouldRegister.Should().BeTrue();
    }

    [Fact]
    public void Browser_WhileTheClientIsDown_RegistersNowhere()
    {
        var plan = SoftphoneRegistrationPolicy.Plan(Info(up: false, cur: Cur, pri: Pri, sec: Sec), Browser);

        plan.Targets.Should().BeEmpty();
        plan.ShouldRegister.Should().BeFalse();
    }

    [Theory]
    [InlineData(SoftphoneHostKind.Launcher, false)]
    [InlineData(SoftphoneHostKind.Launcher, true)]
    [InlineData(SoftphoneHostKind.Browser, false)]
    [InlineData(SoftphoneHostKind.Browser, true)]
    public void Phys_Explicit_WinsInBothHosts(SoftphoneHostKind host, bool noPhysicalLocation)
    {
        var options = new SoftphoneRegistrationOptions { HostKind = host, NoPhysicalLocation = noPhysicalLocation };

        var location = SoftphoneRegistrationPolicy.Plan(Info(cur: Cur, pri: Pri, sec: Sec, phys: "berlin-office"), options).PhysicalLocation;

        location.Should().Be(SoftphonePhysicalLocation.Explicit("berlin-office"));
        location.Source.Should().Be(SoftphonePhysicalLocationSource.Explicit);
        location.Phys.Should().Be("berlin-office");
    }

    [Fact]
    public void Launcher_NoPhysicalLocationOff_UsesThePrimaryPbxLocation()
    {
        var location = SoftphoneRegistrationPolicy.Plan(Info(cur: Cur, pri: Pri, sec: Sec), Launcher with { NoPhysicalLocation = false }).PhysicalLocation;

        location.Source.Should().Be(SoftphonePhysicalLocationSource.PrimaryPbx);
        location.Pbx.Should().Be(Pri, "the location is the primary's even while connected elsewhere");
    }

    [Fact]
    public void Launcher_NoPhysicalLocationOn_UsesNone()
    {
        var location = SoftphoneRegistrationPolicy.Plan(Info(cur: Cur, pri: Pri, sec: Sec), Launcher with { NoPhysicalLocation = true }).PhysicalLocation;

        location.Should().BeSameAs(SoftphonePhysicalLocation.None);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Browser_WithoutPhys_UsesNone_WhateverTheNoPhysicalLocationSetting(bool noPhysicalLocation)
    {
        var location = SoftphoneRegistrationPolicy.Plan(Info(cur: Cur, pri: Pri, sec: Sec, phys: " "), Browser with { NoPhysicalLocation = noPhysicalLocation }).PhysicalLocation;

        location.Should().BeSameAs(SoftphonePhysicalLocation.None);
    }

    [Fact]
    public void Plans_WithEqualTargetsAndLocation_AreEqual()
    {
        var a = SoftphoneRegistrationPolicy.Plan(Info(cur: Cur, pri: Pri, sec: Sec), Launcher);
        var b = SoftphoneRegistrationPolicy.Plan(Info(up: false, cur: null, pri: Pri, sec: Sec), Launcher);
        var c = SoftphoneRegistrationPolicy.Plan(Info(cur: Cur, pri: Pri, sec: null), Launcher);

        a.Should().Be(b);
        a.GetHashCode().Should().Be(b.GetHashCode());
        a.Should().NotBe(c);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(33)]
    public void Options_MaxRedirectHopsOutOfRange_ThrowsNamingIt(int hops)
    {
        var act = () => SoftphoneRegistrationPolicy.Plan(Info(pri: Pri), Launcher with { MaxRedirectHops = hops });

        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("MaxRedirectHops");
    }

    [Fact]
    public void Options_UnknownHostKind_Throws()
    {
        var act = () => new SoftphoneRegistrar(new System.Reactive.Subjects.Subject<ConnInfo>(), new SoftphoneRegistrationOptions { HostKind = (SoftphoneHostKind)7 });

        act.Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("HostKind");
    }
}
