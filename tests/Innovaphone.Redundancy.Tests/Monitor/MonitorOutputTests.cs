using System.Text.Json;
using FluentAssertions;
using Innovaphone.Redundancy.Monitor;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Monitor;

/// <summary>The lines ipr-monitor writes on stdout: for a person, with --json, with --events.</summary>
public sealed class MonitorOutputTests
{
    private static readonly PbxAddress A = PbxAddress.Parse("pbx-a.example.com/PBX0");
    private static readonly PbxAddress B = PbxAddress.Parse("pbx-b.example.com:8443/PBX1");
    private static readonly DateTimeOffset At = new(2026, 11, 29, 16, 1, 2, 345, TimeSpan.Zero);

    private static readonly RedundancyStateChange Failover = new(
        RedundancyState.Connecting, RedundancyState.Failover, "no PBX reachable", A, 2, At.AddSeconds(2), At);

    private static readonly ConnInfo Standby = new(true, true, B, A, B, "berlin");

    [Fact]
    public void StateLine_Failover_HasTimeStatePbxAttemptReasonAndNextAttempt() =>
        MonitorOutput.StateLine(Failover, TimeZoneInfo.Utc).Should().Be(
            "16:01:02.345 state    Failover   pbx=pbx-a.example.com/PBX0 attempt=2 reason \"no PBX reachable\" next attempt 16:01:04.345");

    [Fact]
    public void StateLine_Connected_LeavesOutWhatTheChangeDoesNotHave() =>
        MonitorOutput.StateLine(new RedundancyStateChange(RedundancyState.Connecting, RedundancyState.Connected, "up", null, 0, null, At), TimeZoneInfo.Utc)
            .Should().Be("16:01:02.345 state    Connected  reason \"up\"");

    [Fact]
    public void ConnInfoLine_UpStandbyAndDown_AreSpelledOut()
    {
        MonitorOutput.ConnInfoLine(Standby, At, TimeZoneInfo.Utc).Should().Be(
            "16:01:02.345 connInfo up standby cur=pbx-b.example.com:8443/PBX1 pri=pbx-a.example.com/PBX0 sec=pbx-b.example.com:8443/PBX1 phys=berlin");
        MonitorOutput.ConnInfoLine(new ConnInfo(false, false, null, A, null, null), At, TimeZoneInfo.Utc).Should().Be(
            "16:01:02.345 connInfo down cur=- pri=pbx-a.example.com/PBX0 sec=- phys=-");
    }

    [Fact]
    public void StateJson_CarriesTypeStateAndEveryField()
    {
        using var json = JsonDocument.Parse(MonitorOutput.StateJson(Failover));
        var root = json.RootElement;

        root.GetProperty("type").GetString().Should().Be("state");
        root.GetProperty("time").GetDateTimeOffset().Should().Be(At);
        root.GetProperty("state").GetString().Should().Be("Failover");
        root.GetProperty("previous").GetString().Should().Be("Connecting");
        root.GetProperty("reason").GetString().Should().Be("no PBX reachable");
        root.GetProperty("pbx").GetString().Should().Be("pbx-a.example.com/PBX0");
        root.GetProperty("attempt").GetInt32().Should().Be(2);
        root.GetProperty("nextAttemptAt").GetDateTimeOffset().Should().Be(At.AddSeconds(2));
    }

    [Fact]
    public void Json_WritesConnInfoLinesExactlyAsToJsonAndNoStateLines()
    {
        var (output, lines) = Output("--json");

        output.OnStateChange(Failover);
        output.OnConnInfo(Standby);

        lines.Lines.Should().Equal(Standby.ToJson());
    }

    [Fact]
    public void Events_AddsStateLinesAndKeepsConnInfoLinesUnchanged()
    {
        var (output, lines) = Output("--json", "--events");

        output.OnStateChange(Failover);
        output.OnConnInfo(Standby);

        lines.Lines.Should().Equal(MonitorOutput.StateJson(Failover), Standby.ToJson());
        lines.Lines[1].Should().NotContain("\"type\"", "connInfo lines stay as scripts parse them today");
    }

    [Fact]
    public void Human_WritesOneLinePerChange()
    {
        var (output, lines) = Output();

        output.OnStateChange(Failover);
        output.OnConnInfo(Standby);

        lines.Lines.Should().Equal(MonitorOutput.StateLine(Failover, TimeZoneInfo.Utc), MonitorOutput.ConnInfoLine(Standby, At, TimeZoneInfo.Utc));
    }

    private static (MonitorOutput Output, LineWriter Lines) Output(params string[] options)
    {
        var commandLine = new MonitorCommandLine();
        var settings = commandLine.Bind(commandLine.Command.Parse(["--pbx", "pbx-a.example.com", "--user", "alice", .. options]));
        var lines = new LineWriter();
        return (new MonitorOutput(lines, settings, TimeZoneInfo.Utc, new FakeTimeProvider(At)), lines);
    }
}
