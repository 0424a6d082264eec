using System.Text.Json;
using FluentAssertions;
using Innovaphone.Redundancy.Persistence;
using Xunit;

namespace Innovaphone.Redundancy.Tests;

public sealed class PbxAddressAndConnInfoTests
{
    [Theory]
    [InlineData("master.example.com/PBX0", "master.example.com", null, "PBX0")]
    [InlineData("Master.Example.COM/PBX0", "master.example.com", null, "PBX0")]
    [InlineData("127.0.0.2:8443/PBX0", "127.0.0.2", 8443, "PBX0")]
    [InlineData("[::1]:443/PBX1", "[::1]", 443, "PBX1")]
    [InlineData("slave_2.example.com/pbx-a.b", "slave_2.example.com", null, "pbx-a.b")]
    public void Parse_ValidAddress_SplitsAndFormatsBack(string text, string host, int? port, string module)
    {
        var address = PbxAddress.Parse(text);

        address.Host.Should().Be(host);
        address.Port.Should().Be(port);
        address.Module.Should().Be(module);
        address.ToString().Should().Be(text.Contains("Example", StringComparison.Ordinal) ? text.ToLowerInvariant().Replace("pbx0", "PBX0", StringComparison.Ordinal) : text);
        PbxAddress.Parse(address.ToString()).Should().Be(address);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("master.example.com", "module")]
    [InlineData("wss://master.example.com/PBX0", "scheme")]
    [InlineData("master.example.com:99999/PBX0", "port")]
    [InlineData("master.example.com:x/PBX0", "port")]
    [InlineData("user@master.example.com/PBX0", "host")]
    [InlineData("master.example.com/PBX0/extra", "module")]
    [InlineData("master.example.com/PBX0?x=1", "module")]
    [InlineData("/PBX0", "host")]
    public void Parse_Garbage_ThrowsFormatExceptionSayingWhy(string text, string mentions)
    {
        var parse = () => PbxAddress.Parse(text);

        parse.Should().Throw<FormatException>().Which.Message.Should().Contain(mentions);
        PbxAddress.TryParse(text, out _).Should().BeFalse();
    }

    [Fact]
    public void Equality_IgnoresHostCase_AndNotModuleCase()
    {
        PbxAddress.Parse("A.example.com/PBX0").Should().Be(PbxAddress.Parse("a.example.com/PBX0"));
        (PbxAddress.Parse("a.example.com/PBX0") == PbxAddress.Parse("a.example.com/pbx0")).Should().BeFalse();
        PbxAddress.Parse("a.example.com/PBX0").GetHashCode().Should().Be(PbxAddress.Parse("A.EXAMPLE.com/PBX0").GetHashCode());
    }

    [Fact]
    public void R10_ConnInfoJson_HasExactlyTheSixNamesInOrder()
    {
        var info = new ConnInfo(true, false, PbxAddress.Parse("slave.example.com/PBX0"), PbxAddress.Parse("master.example.com/PBX0"),
            PbxAddress.Parse("slave.example.com/PBX0"), "master");

        info.ToJson().Should().Be(
            """{"up":true,"standby":false,"cur":"slave.example.com/PBX0","pri":"master.example.com/PBX0","sec":"slave.example.com/PBX0","phys":"master"}""");
    }

    [Fact]
    public void R10_ConnInfoJson_UnknownValuesAreNull_PhysIncluded()
    {
        var info = new ConnInfo(false, false, null, PbxAddress.Parse("master.example.com/PBX0"), null, null);

        info.ToJson().Should().Be("""{"up":false,"standby":false,"cur":null,"pri":"master.example.com/PBX0","sec":null,"phys":null}""");
    }

    [Fact]
    public void R10_ConnInfoJson_RoundTrips_AndRejectsBadAddresses()
    {
        var info = new ConnInfo(true, true, PbxAddress.Parse("127.0.0.1:8080/PBX0"), PbxAddress.Parse("m.example.com/PBX0"), null, null);

        ConnInfo.FromJson(info.ToJson()).Should().Be(info);
        var bad = () => ConnInfo.FromJson("""{"up":true,"standby":false,"cur":"no module","pri":null,"sec":null,"phys":null}""");
        bad.Should().Throw<JsonException>().Which.Message.Should().Contain("no module");
    }

    [Fact]
    public void Options_Invalid_ThrowNamingTheOption()
    {
        var valid = new RedundancyOptions { Primary = PbxAddress.Parse("m.example.com/PBX0"), Transport = new NoTransport() };

        Create(valid with { AttemptTimeout = TimeSpan.Zero }).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("AttemptTimeout");
        Create(valid with { BackoffMax = TimeSpan.FromMilliseconds(10) }).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("BackoffMax");
        Create(valid with { MaxRedirectHops = -1 }).Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("MaxRedirectHops");
        Create(valid with { Primary = null! }).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("Primary");
        Create(valid with { Transport = null! }).Should().Throw<ArgumentException>().Which.ParamName.Should().Be("Transport");

        static Func<RedundancyManager> Create(RedundancyOptions options) => () => new RedundancyManager(options);
    }

    [Fact]
    public async Task InMemoryStore_KeepsRecordsPerKey()
    {
        var store = new InMemoryRedundancyStore();
        var record = new RedundancyRecord(PbxAddress.Parse("m.example.com/PBX0"), null, PbxAddress.Parse("s.example.com/PBX0"));

        await store.SaveAsync("k1", record, CancellationToken.None);

        (await store.LoadAsync("k1", CancellationToken.None)).Should().Be(record);
        (await store.LoadAsync("k2", CancellationToken.None)).Should().BeNull();
    }

    private sealed class NoTransport : IPbxTransport
    {
        public ValueTask<LoginOutcome> ConnectAsync(PbxLoginRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult<LoginOutcome>(new AttemptFailed(AttemptFailureKind.Unreachable, "none"));
    }
}
