using System.Text;
using System.Text.Json;
using FluentAssertions;
using Innovaphone.Redundancy.Persistence;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Transport;

public sealed class JsonFileMyAppsSessionStoreTests : IDisposable
{
    private const string Alice = "alice";
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static readonly PbxAddress Master = PbxAddress.Parse("master.example.com/PBX0");
    private static readonly PbxAddress Slave = PbxAddress.Parse("127.0.0.2:8443/PBX1");
    private static readonly MyAppsSession Session = new("session-id-4f1c9e", "session-pw-8b27d0");

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "ir-session-" + Guid.NewGuid().ToString("N"));
    private readonly FakeLogger<JsonFileMyAppsSessionStore> _logger = new();

    private string StorePath => Path.Combine(_directory, "session.json");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private JsonFileMyAppsSessionStore NewStore() => new(StorePath, _logger);

    private IReadOnlyList<FakeLogRecord> Logs => _logger.Collector.GetSnapshot();

    private async Task WriteFileAsync(string content)
    {
        Directory.CreateDirectory(_directory);
        await File.WriteAllTextAsync(StorePath, content, Ct);
    }

    [Fact]
    public async Task SaveThenLoad_NewInstance_RoundTrips()
    {
        await NewStore().SaveAsync(Alice, Session, Ct);

        var loaded = await NewStore().LoadAsync(Alice, Ct);

        loaded.Should().Be(Session);
        LogSecrets.AssertAbsent(Logs, Session.Id, Session.Password);
    }

    [Fact]
    public async Task SaveThenLoad_EmptyPassword_RoundTrips()
    {
        var session = new MyAppsSession("session-id-only", string.Empty);
        await NewStore().SaveAsync(Alice, session, Ct);

        (await NewStore().LoadAsync(Alice, Ct)).Should().Be(session);
    }

    [Fact]
    public async Task Load_MissingFile_ReturnsNullQuietlyAndCreatesNothing()
    {
        var loaded = await NewStore().LoadAsync(Alice, Ct);

        loaded.Should().BeNull();
        Logs.Should().BeEmpty();
        Directory.Exists(_directory).Should().BeFalse("loading must not create the folder or the file");
    }

    [Fact]
    public async Task Load_AnotherUsersSession_ReturnsNullAndSaysSo()
    {
        await NewStore().SaveAsync(Alice, Session, Ct);

        var loaded = await NewStore().LoadAsync("bob", Ct);

        loaded.Should().BeNull("a session logs in as the user it was issued for, whatever user is configured");
        Logs.Should().ContainSingle(r => r.Id.Id == JsonFileMyAppsSessionStore.OtherUserId).Which.Level.Should().Be(LogLevel.Information);
        LogSecrets.AssertAbsent(Logs, Session.Id, Session.Password);
        (await NewStore().LoadAsync(Alice, Ct)).Should().Be(Session, "the file is left for its user");
    }

    [Fact]
    public async Task Save_Twice_KeepsTheLastSessionAndNoTemporaryFile()
    {
        var store = NewStore();
        var newer = new MyAppsSession("session-id-newer1", "session-pw-newer1");

        await store.SaveAsync(Alice, Session, Ct);
        await store.SaveAsync(Alice, newer, Ct);

        (await NewStore().LoadAsync(Alice, Ct)).Should().Be(newer);
        Directory.GetFiles(_directory).Should().ContainSingle().Which.Should().Be(StorePath);
    }

    [Fact]
    public async Task Save_ExistingFile_IsReplacedByRenameNotRewrittenInPlace()
    {
        var store = NewStore();
        await store.SaveAsync(Alice, Session, Ct);

        // A reader holding the old file open keeps seeing the complete old content.
        await using var oldReader = new FileStream(StorePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        await store.SaveAsync(Alice, new MyAppsSession("session-id-newer2", "session-pw-newer2"), Ct);

        using var reader = new StreamReader(oldReader, leaveOpen: true);
        (await reader.ReadToEndAsync(Ct)).Should().Contain(Session.Id).And.NotContain("session-id-newer2");
    }

    [Fact]
    public async Task Save_FileContent_IsTheDocumentedSchema()
    {
        await NewStore().SaveAsync(Alice, Session, Ct);

        using var document = JsonDocument.Parse(await File.ReadAllBytesAsync(StorePath, Ct));
        var root = document.RootElement;
        root.EnumerateObject().Select(p => p.Name).Should().Equal("version", "user", "session");
        root.GetProperty("version").GetInt32().Should().Be(1);
        root.GetProperty("user").GetString().Should().Be(Alice);
        root.GetProperty("session").EnumerateObject().Select(p => (p.Name, p.Value.GetString())).Should().Equal(
            ("id", (string?)Session.Id),
            ("password", Session.Password));
    }

    [Fact]
    public async Task Save_OnUnix_CreatesFile0600InAFolderCreated0700()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes only");
        var path = JsonFileMyAppsSessionStore.GetDefaultPath(Master, Alice, Path.Combine(_directory, "state"));

        await new JsonFileMyAppsSessionStore(path).SaveAsync(Alice, Session, Ct);

        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(Path.GetDirectoryName(path)!).Should().Be(OwnerReadWrite | UnixFileMode.UserExecute);
            File.GetUnixFileMode(path).Should().Be(OwnerReadWrite);
        }
    }

    [Fact]
    public async Task Save_OnUnix_ReplacesAWorldReadableFileWithA0600One()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes only");
        await WriteFileAsync("{}");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(StorePath, (UnixFileMode)0b110_100_100);
        }

        await NewStore().SaveAsync(Alice, Session, Ct);

        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(StorePath).Should().Be(OwnerReadWrite);
        }
    }

    [Theory]
    [InlineData("""{"version":1,"user":"alice","session":{"id":"partial-id-7c1e22","password":"partial-pw-""", "not valid JSON")]
    [InlineData("""{"version":1,"user":"alice","session":{"id":SECRETLITERAL1234}}""", "not valid JSON")]
    [InlineData("", "not valid JSON")]
    [InlineData("[1,2,3]", "not valid JSON")]
    [InlineData("""{"version":"1","user":"alice","session":{"id":"typed-id-77aa55","password":"typed-pw-77aa55"}}""", "not valid JSON")]
    [InlineData("null", "not a JSON object")]
    [InlineData("""{"user":"alice","session":{"id":"nover-id-9d3e11","password":"nover-pw-9d3e11"}}""", "no 'version'")]
    [InlineData("""{"version":2,"user":"alice","session":{"id":"v2-id-5a6b7c8d","password":"v2-pw-5a6b7c8d"}}""", "version 2 is not supported")]
    [InlineData("""{"version":1,"session":{"id":"nouser-id-3f4e","password":"nouser-pw-3f4e"}}""", "no 'user'")]
    [InlineData("""{"version":1,"user":"alice"}""", "no 'session' object")]
    [InlineData("""{"version":1,"user":"alice","session":{"id":"","password":"emptyid-pw-1b2c"}}""", "no 'id'")]
    [InlineData("""{"version":1,"user":"alice","session":{"id":"nopw-id-6e7f8a9b"}}""", "no 'password'")]
    public async Task Load_UnusableFile_ReturnsNullAndWarnsWhyWithoutTheContent(string content, string why)
    {
        await WriteFileAsync(content);

        var loaded = await NewStore().LoadAsync(Alice, Ct);

        loaded.Should().BeNull();
        var warning = Logs.Should().ContainSingle(r => r.Id.Id == JsonFileMyAppsSessionStore.FileUnusableId).Which;
        warning.Level.Should().Be(LogLevel.Warning);
        warning.Message.Should().Contain(why).And.Contain(StorePath);
        LogSecrets.AssertAbsent(Logs, SecretsIn(content));
    }

    [Fact]
    public async Task Load_OversizedFile_ReturnsNullAndWarnsWhy()
    {
        // A usable session followed by more white space than a session file can hold.
        var content = """{"version":1,"user":"alice","session":{"id":"big-id-0e9d8c7b","password":"big-pw-0e9d8c7b"}}"""
            + new string(' ', JsonFileMyAppsSessionStore.MaxFileBytes);
        await WriteFileAsync(content);

        var loaded = await NewStore().LoadAsync(Alice, Ct);

        loaded.Should().BeNull();
        Logs.Should().ContainSingle(r => r.Id.Id == JsonFileMyAppsSessionStore.FileUnusableId)
            .Which.Message.Should().Contain($"larger than {JsonFileMyAppsSessionStore.MaxFileBytes} bytes");
        LogSecrets.AssertAbsent(Logs, "big-id-0e9d8c7b", "big-pw-0e9d8c7b");
    }

    [Fact]
    public async Task Load_FileAtTheLimit_IsRead()
    {
        var json = $$$"""{"version":1,"user":"alice","session":{"id":"{{{Session.Id}}}","password":"{{{Session.Password}}}"}}""";
        await WriteFileAsync(json + new string(' ', JsonFileMyAppsSessionStore.MaxFileBytes - Encoding.UTF8.GetByteCount(json)));

        (await NewStore().LoadAsync(Alice, Ct)).Should().Be(Session);
    }

    [Fact]
    public async Task Load_PathIsAFolder_ReturnsNullAndWarnsThatItCannotBeRead()
    {
        Directory.CreateDirectory(StorePath);

        var loaded = await NewStore().LoadAsync(Alice, Ct);

        loaded.Should().BeNull();
        Logs.Should().ContainSingle(r => r.Id.Id == JsonFileMyAppsSessionStore.FileUnreadableId).Which.Level.Should().Be(LogLevel.Warning);
    }

    [Fact]
    public async Task Save_AfterUnusableFile_ReplacesIt()
    {
        await WriteFileAsync("{ garbage");

        await NewStore().SaveAsync(Alice, Session, Ct);

        (await NewStore().LoadAsync(Alice, Ct)).Should().Be(Session);
    }

    [Fact]
    public async Task Clear_DeletesTheFile()
    {
        var store = NewStore();
        await store.SaveAsync(Alice, Session, Ct);

        await store.ClearAsync(Alice, Ct);

        File.Exists(StorePath).Should().BeFalse();
        (await store.LoadAsync(Alice, Ct)).Should().BeNull();
        Logs.Should().Contain(r => r.Id.Id == JsonFileMyAppsSessionStore.ClearedId);
        LogSecrets.AssertAbsent(Logs, Session.Id, Session.Password);
    }

    [Fact]
    public async Task Clear_NoFileOrFolder_DoesNothing()
    {
        await NewStore().ClearAsync(Alice, Ct);

        Directory.Exists(_directory).Should().BeFalse();
        Logs.Should().BeEmpty();
    }

    [Theory]
    [InlineData("bob")]
    [InlineData(Alice)]
    public async Task Clear_UnusableOrAnyUsersFile_DeletesIt(string clearingUser)
    {
        await WriteFileAsync("""{"version":1,"user":"alice","session":{"id":"partial""");

        await NewStore().ClearAsync(clearingUser, Ct);
        File.Exists(StorePath).Should().BeFalse();

        await NewStore().SaveAsync(Alice, Session, Ct);
        await NewStore().ClearAsync(clearingUser, Ct);
        File.Exists(StorePath).Should().BeFalse("the file holds one session, and a secret less on disk is the safe side");
    }

    [Fact]
    public async Task SaveAndLoad_ConcurrentFromManyThreads_LeaveOneWholeSession()
    {
        var store = NewStore();
        var sessions = Enumerable.Range(0, 16).Select(i => new MyAppsSession($"session-id-{i:D4}-c0ffee", $"session-pw-{i:D4}-c0ffee")).ToList();

        var calls = sessions.Select(s => Task.Run(async () => await store.SaveAsync(Alice, s, Ct), Ct))
            .Concat(sessions.Select(_ => Task.Run(async () => await store.LoadAsync(Alice, Ct), Ct)))
            .ToArray();
        await Task.WhenAll(calls);

        (await NewStore().LoadAsync(Alice, Ct)).Should().BeOneOf(sessions);
        Logs.Should().NotContain(r => r.Level >= LogLevel.Warning, "no load ever sees a partial file");
        Directory.GetFiles(_directory).Should().ContainSingle().Which.Should().Be(StorePath, "no temporary file may be left behind");
        LogSecrets.AssertAbsent(Logs, sessions.SelectMany(s => new[] { s.Id, s.Password }));
    }

    [Fact]
    public async Task EveryCall_CancelledToken_ThrowsAndLeavesTheFile()
    {
        var store = NewStore();
        await store.SaveAsync(Alice, Session, Ct);
        var before = await File.ReadAllBytesAsync(StorePath, Ct);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await FluentActions.Awaiting(() => store.LoadAsync(Alice, cancelled.Token).AsTask()).Should().ThrowAsync<OperationCanceledException>();
        await FluentActions.Awaiting(() => store.SaveAsync(Alice, new MyAppsSession("cancel-id-1a2b3c", "cancel-pw-1a2b3c"), cancelled.Token).AsTask())
            .Should().ThrowAsync<OperationCanceledException>();
        await FluentActions.Awaiting(() => store.ClearAsync(Alice, cancelled.Token).AsTask()).Should().ThrowAsync<OperationCanceledException>();

        (await File.ReadAllBytesAsync(StorePath, Ct)).Should().Equal(before);
        Directory.GetFiles(_directory).Should().ContainSingle();
    }

    [Fact]
    public async Task SessionAndRecordStores_DefaultPaths_KeepTheirOwnFiles()
    {
        var sessionPath = JsonFileMyAppsSessionStore.GetDefaultPath(Master, Alice, _directory);
        var recordPath = JsonFileRedundancyStore.GetDefaultPath(Master, Alice, _directory);
        var record = new RedundancyRecord(Master, Slave, Master);

        await new JsonFileMyAppsSessionStore(sessionPath).SaveAsync(Alice, Session, Ct);
        await new JsonFileRedundancyStore(recordPath).SaveAsync("alice@master", record, Ct);

        sessionPath.Should().NotBe(recordPath);
        Directory.GetFiles(_directory).Should().BeEquivalentTo([sessionPath, recordPath]);
        var recordText = await File.ReadAllTextAsync(recordPath, Ct);
        recordText.Should().NotContain(Session.Id).And.NotContain(Session.Password).And.NotContain("session");
        (await File.ReadAllTextAsync(sessionPath, Ct)).Should().NotContain("records").And.NotContain(Slave.ToString());
        (await new JsonFileMyAppsSessionStore(sessionPath).LoadAsync(Alice, Ct)).Should().Be(Session);
        (await new JsonFileRedundancyStore(recordPath).LoadAsync("alice@master", Ct)).Should().Be(record);

        await new JsonFileMyAppsSessionStore(sessionPath).ClearAsync(Alice, Ct);
        Directory.GetFiles(_directory).Should().Equal(recordPath);
    }

    [Fact]
    public async Task SessionStore_OnTheRecordFile_FindsNoSession()
    {
        var path = JsonFileRedundancyStore.GetDefaultPath(Master, Alice, _directory);
        await new JsonFileRedundancyStore(path).SaveAsync("k", new RedundancyRecord(Master, Slave, Master), Ct);

        (await new JsonFileMyAppsSessionStore(path, _logger).LoadAsync(Alice, Ct)).Should().BeNull();
        Logs.Should().ContainSingle(r => r.Id.Id == JsonFileMyAppsSessionStore.FileUnusableId);
    }

    [Fact]
    public void GetDefaultPath_BesideTheRecordsDefaultFile_WithItsOwnEnding()
    {
        var path = JsonFileMyAppsSessionStore.GetDefaultPath(Master, Alice, _directory);
        var recordPath = JsonFileRedundancyStore.GetDefaultPath(Master, Alice, _directory);

        Path.GetDirectoryName(path).Should().Be(Path.GetFullPath(_directory));
        Path.GetFileName(path).Should().MatchRegex(@"^master\.example\.com_PBX0_alice_[0-9a-f]{8}\.session\.json$");
        path.Should().Be(Path.ChangeExtension(recordPath, ".session.json"));
        new[]
        {
            path,
            JsonFileMyAppsSessionStore.GetDefaultPath(Master, "bob", _directory),
            JsonFileMyAppsSessionStore.GetDefaultPath(Slave, Alice, _directory),
            JsonFileMyAppsSessionStore.GetDefaultPath(Master, "alice bob", _directory),
            JsonFileMyAppsSessionStore.GetDefaultPath(Master, "alice_bob", _directory),
        }.Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public void GetDefaultPath_WithoutAFolder_UsesTheRecordsDefaultFolder()
    {
        var root = JsonFileRedundancyStore.GetDefaultDirectory();
        Assert.SkipWhen(root is null, "this process has no home directory");

        Path.GetDirectoryName(JsonFileMyAppsSessionStore.GetDefaultPath(Master, Alice)).Should().Be(root);
    }

    [Fact]
    public async Task ToString_AfterSave_ShowsThePathAndNoSecret()
    {
        var store = NewStore();
        await store.SaveAsync(Alice, Session, Ct);

        store.ToString().Should().Contain(StorePath).And.NotContainAny(Session.Id, Session.Password);
    }

    [Fact]
    public void Constructor_DirectoryPath_Throws()
    {
        var act = () => new JsonFileMyAppsSessionStore(_directory + Path.DirectorySeparatorChar);

        act.Should().Throw<ArgumentException>();
    }

    /// <summary>The string values and bare words of a test file, which a log line must not show.</summary>
    private static IEnumerable<string> SecretsIn(string content) =>
        content.Split(['"', ':', ',', '{', '}'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(part => part.Length >= 8 && part is not "password" and not "session");
}
