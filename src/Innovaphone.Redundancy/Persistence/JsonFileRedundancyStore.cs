using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Innovaphone.Redundancy.Persistence;

/// <summary>
/// Keeps all records in one JSON file, keyed by the record key. Survives restarts; the file holds no secret.
/// </summary>
/// <remarks>
/// <para>File layout: <c>{"version":1,"records":{"&lt;key&gt;":{"primary":"host[:port]/module","secondary":..,"home":..,"homeAlt":..,"homeMaster":..}}}</c>;
/// absent PBXes are left out.</para>
/// <para>Writes are atomic: the new content goes to a temporary file in the same directory, which then replaces
/// the file in one rename, so a crash leaves either the old or the new file, never half of one. On Unix the file is
/// created readable and writable by the owner only (mode 0600): it names the user's PBXes.</para>
/// <para>A missing file means "nothing known". A file that cannot be read or parsed (bad JSON, bad PBX addresses)
/// also means "nothing known": a warning is logged and the next save replaces it. Loading never throws for such a
/// file; saving throws when the file cannot be written (the manager logs and survives that).</para>
/// <para>Calls are serialised inside one instance. Two instances (or processes) on the same file are not
/// coordinated: the last save wins.</para>
/// </remarks>
[SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "The SemaphoreSlim never allocates its wait handle (AvailableWaitHandle is not used), so there is nothing to release; a store needs no disposal.")]
public sealed partial class JsonFileRedundancyStore : IRedundancyStore
{
    /// <summary>Event id of "the store file is corrupt, treated as empty" (Warning).</summary>
    internal const int FileCorruptId = 150;

    /// <summary>Event id of "the store file could not be read, treated as empty" (Warning).</summary>
    internal const int FileUnreadableId = 151;

    /// <summary>Event id of "a record was saved" (Debug).</summary>
    internal const int SavedId = 152;

    private const int CurrentVersion = 1;

    private readonly string _path;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Creates a store on <paramref name="path"/>. Nothing is read or written until the first call.</summary>
    /// <param name="path">The JSON file. Its directory is created on the first save if it does not exist.</param>
    /// <param name="logger">Receives a warning when the file is corrupt; <see langword="null"/> logs nothing.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or names a directory.</exception>
    public JsonFileRedundancyStore(string path, ILogger<JsonFileRedundancyStore>? logger = null)
    {
        _path = StateFiles.FullFilePath(path);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The full path of the JSON file.</summary>
    public string FilePath => _path;

    /// <summary>
    /// The folder under which <see cref="GetDefaultPath"/> places state files: <c>Innovaphone.Redundancy/state</c> in the
    /// per-user local application data folder (<c>%LOCALAPPDATA%</c> on Windows, <c>$XDG_DATA_HOME</c> or
    /// <c>~/.local/share</c> on Linux, <c>~/Library/Application Support</c> on macOS).
    /// </summary>
    /// <returns>The folder, or <see langword="null"/> when the process has no per-user data folder (no home directory,
    /// as for some service accounts and containers).</returns>
    public static string? GetDefaultDirectory() => StateFiles.DefaultDirectory();

    /// <summary>
    /// The default state file of one primary PBX and user: one file each, in <see cref="GetDefaultDirectory"/>, named
    /// after the primary and the user (characters a file name may not hold become <c>_</c>, and a short hash of the exact
    /// key keeps two such names apart), for example <c>pbx.example.com_PBX0_alice_1a2b3c4d.json</c>.
    /// </summary>
    /// <param name="primary">The configured primary PBX, as in <see cref="RedundancyOptions.Primary"/>.</param>
    /// <param name="user">The user's SIP name, as in <see cref="RedundancyOptions.User"/>; <see langword="null"/> or empty when there is none.</param>
    /// <param name="directory">The folder to place the file in; <see langword="null"/> for <see cref="GetDefaultDirectory"/>.</param>
    /// <returns>The full path; nothing is created until the first save.</returns>
    /// <exception cref="InvalidOperationException"><paramref name="directory"/> is <see langword="null"/> and the process has no
    /// per-user data folder; give a folder or a path explicitly.</exception>
    public static string GetDefaultPath(PbxAddress primary, string? user, string? directory = null)
    {
        ArgumentNullException.ThrowIfNull(primary);
        directory ??= GetDefaultDirectory() ?? throw new InvalidOperationException(
            "This process has no per-user data folder (the home directory is not set), so the redundancy state has no default location. "
            + "Give a state file path, or turn persistence off.");
        return StateFiles.DefaultPath(primary, user, directory, ".json");
    }

    /// <inheritdoc/>
    public async ValueTask<RedundancyRecord?> LoadAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var records = await ReadAllAsync(cancellationToken).ConfigureAwait(false);
            return records.TryGetValue(key, out var record) ? record : null;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc/>
    public async ValueTask SaveAsync(string key, RedundancyRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(record);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Read-modify-write so that records of other keys (other users, other primaries) survive.
            var records = await ReadAllAsync(cancellationToken).ConfigureAwait(false);
            records[key] = record;
            await WriteAllAsync(records, cancellationToken).ConfigureAwait(false);
            LogSaved(_logger, _path);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<Dictionary<string, RedundancyRecord>> ReadAllAsync(CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, RedundancyRecord>(StringComparer.Ordinal);
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(_path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return result;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogFileUnreadable(_logger, _path, e.GetType().Name, e.Message);
            return result;
        }

        if (!TryParse(bytes, result, out var problem))
        {
            LogFileCorrupt(_logger, _path, problem);
            result.Clear();
        }

        return result;
    }

    private static bool TryParse(byte[] bytes, Dictionary<string, RedundancyRecord> into, [NotNullWhen(false)] out string? problem)
    {
        StoreFile? file;
        try
        {
            file = JsonSerializer.Deserialize(bytes, RedundancyStoreJsonContext.Default.StoreFile);
        }
        catch (JsonException e)
        {
            // The message names the position only (line, byte), never the content.
            problem = "not valid JSON: " + e.Message;
            return false;
        }

        if (file?.Records is null)
        {
            problem = "no 'records' object";
            return false;
        }

        foreach (var (key, dto) in file.Records)
        {
            if (dto is null || !PbxAddress.TryParse(dto.Primary, out var primary))
            {
                problem = $"record '{key}' has no valid primary PBX";
                return false;
            }

            if (!TryParseOptional(dto.Secondary, out var secondary) || !TryParseOptional(dto.Home, out var home)
                || !TryParseOptional(dto.HomeAlt, out var homeAlt) || !TryParseOptional(dto.HomeMaster, out var homeMaster))
            {
                problem = $"record '{key}' has an invalid PBX address";
                return false;
            }

            into[key] = new RedundancyRecord(primary, secondary, home) { HomeAlternative = homeAlt, HomeMaster = homeMaster };
        }

        problem = null;
        return true;
    }

    private static bool TryParseOptional(string? text, out PbxAddress? address)
    {
        address = null;
        if (text is null)
        {
            return true;
        }

        if (PbxAddress.TryParse(text, out var parsed))
        {
            address = parsed;
            return true;
        }

        return false;
    }

    private async Task WriteAllAsync(Dictionary<string, RedundancyRecord> records, CancellationToken cancellationToken)
    {
        var file = new StoreFile
        {
            Version = CurrentVersion,
            Records = records.ToDictionary(
                static r => r.Key,
                static r => (RecordDto?)new RecordDto
                {
                    Primary = r.Value.Primary.ToString(),
                    Secondary = r.Value.Secondary?.ToString(),
                    Home = r.Value.Home?.ToString(),
                    HomeAlt = r.Value.HomeAlternative?.ToString(),
                    HomeMaster = r.Value.HomeMaster?.ToString(),
                },
                StringComparer.Ordinal),
        };

        await StateFiles.WriteAtomicallyAsync(_path, JsonSerializer.SerializeToUtf8Bytes(file, RedundancyStoreJsonContext.Default.StoreFile), cancellationToken)
            .ConfigureAwait(false);
    }

    [LoggerMessage(FileCorruptId, LogLevel.Warning, "The redundancy store file {Path} is corrupt ({Problem}); treating it as empty, the next save replaces it")]
    private static partial void LogFileCorrupt(ILogger logger, string path, string problem);

    [LoggerMessage(FileUnreadableId, LogLevel.Warning, "The redundancy store file {Path} could not be read ({ExceptionType}: {Message}); treating it as empty")]
    private static partial void LogFileUnreadable(ILogger logger, string path, string exceptionType, string message);

    [LoggerMessage(SavedId, LogLevel.Debug, "Saved the redundancy record to {Path}")]
    private static partial void LogSaved(ILogger logger, string path);
}

/// <summary>The file's root object.</summary>
internal sealed class StoreFile
{
    public int Version { get; set; }

    public Dictionary<string, RecordDto?>? Records { get; set; }
}

/// <summary>One record as stored: PBXes in their connInfo form <c>host[:port]/module</c>.</summary>
internal sealed class RecordDto
{
    public string? Primary { get; set; }

    public string? Secondary { get; set; }

    public string? Home { get; set; }

    public string? HomeAlt { get; set; }

    public string? HomeMaster { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true)]
[JsonSerializable(typeof(StoreFile))]
internal sealed partial class RedundancyStoreJsonContext : JsonSerializerContext;
