using System.Text.Json;
using FluentAssertions;
using Innovaphone.Redundancy.Persistence;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Persistence;

public sealed class JsonFileRedundancyStoreTests : IDisposable
{
    private static readonly PbxAddress Master = PbxAddress.Parse("master.example.com/PBX0");
    private static readonly PbxAddress Slave = PbxAddress.Parse("127.0.0.2:8443/PBX1");
    private static readonly PbxAddress Standby = PbxAddress.Parse("standby.example.com/PBX0");

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "ir-store-" + Guid.NewGuid().ToString("N"));
    private readonly FakeLogger<JsonFileRedundancyStore> _logger = new();

    private string StorePath => Path.Combine(_directory, "redundancy.json");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private JsonFileRedundancyStore NewStore() => new(StorePath, _logger);

    [Fact]
    public async Task SaveThenLoad_NewInstance_RoundTripsAllFields()
    {
        var record = new RedundancyRecord(Master, Slave, Standby);
        await NewStore().SaveAsync("user@master", record, Ct);

        var loaded = await NewStore().LoadAsync("user@master", Ct);

        loaded.Should().Be(record);
    }

    [Fact]
    public async Task SaveThenLoad_NullSecondaryAndHome_RoundTrip()
    {
        var record = new RedundancyRecord(Master, null, null);
        await NewStore().SaveAsync("k", record, Ct);

        (await NewStore().LoadAsync("k", Ct)).Should().Be(record);
    }

    [Fact]
    public async Task Save_TwoKeys_KeepsBoth()
    {
        var store = NewStore();
        var a = new RedundancyRecord(Master, Slave, Master);
        var b = new RedundancyRecord(Slave, Master, null);

        await store.SaveAsync("a", a, Ct);
        await store.SaveAsync("b", b, Ct);

        (await store.LoadAsync("a", Ct)).Should().Be(a);
        (await store.LoadAsync("b", Ct)).Should().Be(b);
        (await store.LoadAsync("c", Ct)).Should().BeNull();
    }

    [Fact]
    public async Task Load_MissingFile_ReturnsNullWithoutWarning()
    {
        var loaded = await NewStore().LoadAsync("k", Ct);

        loaded.Should().BeNull();
        _logger.Collector.GetSnapshot().Should().NotContain(r => r.Level >= LogLevel.Warning);
        File.Exists(StorePath).Should().BeFalse("loading must not create the file");
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"version\":1}")]
    [InlineData("{\"version\":1,\"records\":{\"k\":{\"primary\":\"http://bad/PBX0\"}}}")]
    [InlineData("{\"version\":1,\"records\":{\"k\":{\"secondary\":\"slave/PBX0\"}}}")]
    [InlineData("{\"version\":1,\"records\":{\"k\":{\"primary\":\"master/PBX0\",\"home\":\"no-module\"}}}")]
    [InlineData("{\"version\":1,\"records\":{\"k\":null}}")]
    public async Task Load_CorruptFile_ReturnsNullAndLogsWarning(string content)
    {
        Directory.CreateDirectory(_directory);
        await File.WriteAllTextAsync(StorePath, content, Ct);

        var loaded = await NewStore().LoadAsync("k", Ct);

        loaded.Should().BeNull();
        _logger.Collector.GetSnapshot().Should().ContainSingle(r => r.Id.Id == JsonFileRedundancyStore.FileCorruptId)
            .Which.Level.Should().Be(LogLevel.Warning);
    }

    [Fact]
    public async Task Save_AfterCorruptFile_ReplacesIt()
    {
        Directory.CreateDirectory(_directory);
        await File.WriteAllTextAsync(StorePath, "{ garbage", Ct);
        var record = new RedundancyRecord(Master, Slave, Master);

        await NewStore().SaveAsync("k", record, Ct);

        (await NewStore().LoadAsync("k", Ct)).Should().Be(record);
        using var document = JsonDocument.Parse(await File.ReadAllBytesAsync(StorePath, Ct));
        document.RootElement.GetProperty("records").GetProperty("k").GetProperty("primary").GetString().Should().Be("master.example.com/PBX0");
    }

    [Fact]
    public async Task Save_ExistingFile_ReplacedAtomicallyWithoutLeftovers()
    {
        var store = NewStore();
        await store.SaveAsync("k", new RedundancyRecord(Master, null, null), Ct);
        var inodeBefore = new FileInfo(StorePath);
        inodeBefore.Exists.Should().BeTrue();

        // A reader holding the old file open keeps seeing the complete old content: the save renames a new
        // file over it rather than rewriting it in place.
        await using var oldReader = new FileStream(StorePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        await store.SaveAsync("k", new RedundancyRecord(Slave, Master, Slave), Ct);

        using (var reader = new StreamReader(oldReader, leaveOpen: true))
        {
            var oldText = await reader.ReadToEndAsync(Ct);
            oldText.Should().Contain("master.example.com/PBX0").And.NotContain("127.0.0.2:8443/PBX1");
        }

        (await NewStore().LoadAsync("k", Ct)).Should().Be(new RedundancyRecord(Slave, Master, Slave));
        Directory.GetFiles(_directory).Should().ContainSingle().Which.Should().Be(StorePath, "no temporary file may be left behind");
    }

    [Fact]
    public async Task Save_OnUnix_CreatesFileWithMode0600()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes only");

        await NewStore().SaveAsync("k", new RedundancyRecord(Master, Slave, Master), Ct);

        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(StorePath).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    [Fact]
    public async Task Save_OnUnix_ReplacesWorldReadableFileWithMode0600()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes only");
        Directory.CreateDirectory(_directory);
        await File.WriteAllTextAsync(StorePath, "{}", Ct);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(StorePath, (UnixFileMode)0b110_100_100);
        }

        await NewStore().SaveAsync("k", new RedundancyRecord(Master, null, null), Ct);

        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(StorePath).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    [Fact]
    public async Task Save_FileContent_HoldsOnlyTheExpectedFields()
    {
        await NewStore().SaveAsync("user@master", new RedundancyRecord(Master, Slave, Standby), Ct);

        using var document = JsonDocument.Parse(await File.ReadAllBytesAsync(StorePath, Ct));
        var root = document.RootElement;
        root.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo(["version", "records"]);
        root.GetProperty("version").GetInt32().Should().Be(1);
        var records = root.GetProperty("records");
        records.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo(["user@master"]);
        var record = records.GetProperty("user@master");
        record.EnumerateObject().Select(p => (p.Name, p.Value.GetString())).Should().BeEquivalentTo(
        [
            ("primary", (string?)"master.example.com/PBX0"),
            ("secondary", "127.0.0.2:8443/PBX1"),
            ("home", "standby.example.com/PBX0"),
        ]);
    }

    [Fact]
    public async Task Save_NullParts_AreLeftOut()
    {
        await NewStore().SaveAsync("k", new RedundancyRecord(Master, null, null), Ct);

        using var document = JsonDocument.Parse(await File.ReadAllBytesAsync(StorePath, Ct));
        document.RootElement.GetProperty("records").GetProperty("k").EnumerateObject().Select(p => p.Name)
            .Should().BeEquivalentTo(["primary"]);
    }

    [Fact]
    public async Task SaveAndLoad_Concurrent_AreSerialisedAndLoseNoKey()
    {
        var store = NewStore();
        var saves = Enumerable.Range(0, 20)
            .Select(i => store.SaveAsync("k" + i, new RedundancyRecord(Master, i % 2 == 0 ? Slave : null, null), Ct).AsTask())
            .Concat(Enumerable.Range(0, 20).Select(i => store.LoadAsync("k" + i, Ct).AsTask()))
            .ToArray();

        await Task.WhenAll(saves);

        for (var i = 0; i < 20; i++)
        {
            (await store.LoadAsync("k" + i, Ct)).Should().Be(new RedundancyRecord(Master, i % 2 == 0 ? Slave : null, null), "save {0} is kept whole", i);
        }

        (await NewStore().LoadAsync("k19", Ct)).Should().Be(new RedundancyRecord(Master, null, null), "a fresh store reads what the file holds");
    }

    [Fact]
    public void Constructor_DirectoryPath_Throws()
    {
        var act = () => new JsonFileRedundancyStore(_directory + Path.DirectorySeparatorChar);

        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void GetDefaultPath_OneFilePerPrimaryAndUser_InTheGivenFolder()
    {
        var alice = JsonFileRedundancyStore.GetDefaultPath(Master, "alice", _directory);

        alice.Should().Be(JsonFileRedundancyStore.GetDefaultPath(Master, "alice", _directory), "the same primary and user find their file again");
        Path.GetDirectoryName(alice).Should().Be(Path.GetFullPath(_directory));
        Path.GetFileName(alice).Should().MatchRegex(@"^master\.example\.com_PBX0_alice_[0-9a-f]{8}\.json$");
        new[]
        {
            alice,
            JsonFileRedundancyStore.GetDefaultPath(Master, "bob", _directory),
            JsonFileRedundancyStore.GetDefaultPath(Master, null, _directory),
            JsonFileRedundancyStore.GetDefaultPath(Slave, "alice", _directory),
            JsonFileRedundancyStore.GetDefaultPath(Master, "alice bob", _directory),
            JsonFileRedundancyStore.GetDefaultPath(Master, "alice_bob", _directory),
        }.Should().OnlyHaveUniqueItems("names that read the same after sanitising still differ by the hash of the exact key");
    }

    [Theory]
    [InlineData("[2001:db8::1]:8443/PBX0", "alice")]
    [InlineData("pbx.example.com/PBX0", "../../etc/passwd")]
    [InlineData("pbx.example.com/PBX0", "a\\b:c*d?e\"f<g>h|i")]
    public void GetDefaultPath_AnyPrimaryAndUser_StaysInTheFolderWithAPortableName(string primary, string user)
    {
        var path = JsonFileRedundancyStore.GetDefaultPath(PbxAddress.Parse(primary), user, _directory);

        Path.GetDirectoryName(path).Should().Be(Path.GetFullPath(_directory));
        Path.GetFileName(path).Should().MatchRegex(@"^[A-Za-z0-9._-]+\.json$");
    }

    [Fact]
    public void GetDefaultPath_WithoutAFolder_UsesThePerUserDataFolder()
    {
        var root = JsonFileRedundancyStore.GetDefaultDirectory();
        Assert.SkipWhen(root is null, "this process has no home directory");

        var path = JsonFileRedundancyStore.GetDefaultPath(Master, "alice");

        Path.GetDirectoryName(path).Should().Be(root);
        root.Should().StartWith(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify))
            .And.EndWith(Path.Combine("Innovaphone.Redundancy", "state"));
    }

    [Fact]
    public async Task Save_InAFolderThatDoesNotExist_CreatesItForTheOwnerOnly()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes");
        var path = JsonFileRedundancyStore.GetDefaultPath(Master, "alice", Path.Combine(_directory, "state"));

        await new JsonFileRedundancyStore(path).SaveAsync("k", new RedundancyRecord(Master, Slave, Slave), Ct);

        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(Path.GetDirectoryName(path)!).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.GetUnixFileMode(path).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
