using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Microsoft.Extensions.Logging.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Scenarios;

/// <summary>
/// The manager's connection flow logs structured events (docs/logging.md): a sink gets the PBXes, kinds and codes of a
/// redirect, a failed attempt, a rejection, a standby login and a determination as fields of their own.
/// </summary>
public sealed class StructuredLogScenarioTests : IAsyncLifetime
{
    private readonly ScenarioHarness _h = new();

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _h.DisposeAsync();

    [Fact]
    public async Task Redirect_LogsPbxAndTarget_ThenTheDeterminationAsFields()
    {
        var master = _h.Sim.AddMaster("master.example.com");
        _h.Sim.AddSlave("slave1.example.com", master);
        var slave2 = _h.Sim.AddSlave("slave2.example.com", master);
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, slave2);
        await _h.StartAsync(master);
        await _h.WaitUpAsync(slave2);

        var redirect = Single(Log.RedirectFollowedId);
        Field(redirect, "Pbx").Should().Be(master.Address.ToString());
        Field(redirect, "Target").Should().Be(slave2.Address.ToString());

        var login = Single(Log.LoggedInId);
        Field(login, "Pbx").Should().Be(slave2.Address.ToString());
        Field(login, "RedirectCount").Should().Be("1");

        var determined = Single(Log.DeterminedId);
        Field(determined, "Primary").Should().Be(master.Address.ToString());
        Field(determined, "Secondary").Should().Be(slave2.Address.ToString());
        Field(determined, "Home").Should().Be(slave2.Address.ToString());
    }

    [Fact]
    public async Task UnreachablePbx_LogsTheFailedAttemptAndTheFailedRoundAsFields()
    {
        var pbx = _h.Sim.AddMaster("pbx.example.com");
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, pbx);
        _h.Sim.Kill(pbx);
        await _h.StartAsync(pbx);
        await _h.WaitForStateAsync(RedundancyState.Failover);

        var failed = Single(Log.AttemptFailedId);
        Field(failed, "Pbx").Should().Be(pbx.Address.ToString());
        Field(failed, "FailureKind").Should().Be(nameof(AttemptFailureKind.Unreachable));
        Field(failed, "Reason").Should().NotBeNullOrEmpty();

        var round = Single(Log.RoundFailedId);
        Field(round, "Pbx").Should().Be(pbx.Address.ToString());
    }

    [Fact]
    public async Task WrongPassword_LogsTheRejectionWithItsCodeAndTextAsFields()
    {
        var pbx = _h.Sim.AddMaster("pbx.example.com");
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, pbx);
        _h.Create(pbx, password: "wrong");
        await _h.Manager.StartAsync(TestContext.Current.CancellationToken);
        var faulted = await _h.WaitForStateAsync(RedundancyState.Faulted);

        var rejected = Single(Log.LoginRejectedId);
        Field(rejected, "Pbx").Should().Be(pbx.Address.ToString());
        Field(rejected, "ErrorCode").Should().Be(SimulatedPbxSystem.LoginFailedError.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Field(rejected, "ErrorText").Should().Be("login failed: unknown user or wrong password");
        faulted.Reason.Should().Be($"login rejected by {pbx.Address}: login failed: unknown user or wrong password (error 1)", "the public reason keeps its wording");
    }

    [Fact]
    public async Task StandbyLogin_LogsTheStandbyTheUsersPbxAndTheEvidenceAsFields()
    {
        var pbx = _h.Sim.AddMaster("pbx.example.com");
        var standby = _h.Sim.AddStandby("standby.example.com", pbx);
        _h.Sim.AddUser(ScenarioHarness.User, ScenarioHarness.Password, pbx);
        await _h.StartAsync(pbx);
        await _h.WaitUpAsync(pbx);
        _h.Sim.Kill(pbx);
        await _h.WaitUpAsync(standby, standby: true);

        var lost = Single(Log.ConnectionLostId);
        Field(lost, "Pbx").Should().Be(pbx.Address.ToString());

        var login = Single(Log.StandbyLoginId);
        Field(login, "Pbx").Should().Be(standby.Address.ToString());
        Field(login, "Home").Should().Be(pbx.Address.ToString());
        Field(login, "Evidence").Should().Be("SaidStandby");
    }

    private FakeLogRecord Single(int id) => _h.Logs.Should().ContainSingle(r => r.Id.Id == id, "event {0} once", id).Subject;

    private static string? Field(FakeLogRecord record, string key)
    {
        record.StructuredState.Should().NotBeNull().And.Contain(pair => pair.Key == key, "event {0} has the field {1}", record.Id.Id, key);
        return record.GetStructuredStateValue(key);
    }
}
