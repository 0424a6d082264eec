using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using Innovaphone.Redundancy.Persistence;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>
/// Keeps one user's myApps session in one JSON file, readable and writable by the owner only. The file is a secret
/// like a password: whoever can read it logs in as the user.
/// </summary>
/// <remarks>
/// <para>File layout: <c>{"version":1,"user":"&lt;SIP name&gt;","session":{"id":"…","password":"…"}}</c>. <c>user</c> binds
/// the session to the user it was issued for: loading for another user gives no session. The file's modification time
/// says when the session was saved.</para>
/// <para>Writes are atomic (a temporary file in the same folder, renamed over the file), so a crash leaves the old
/// session or the new one. On Unix the file is created with mode 0600, and a folder that does not exist yet with mode
/// 0700; on Windows both inherit the folder's ACL (the per-user data folder of <see cref="GetDefaultPath"/> is the
/// user's only). <see cref="ClearAsync"/> deletes the file.</para>
/// <para>A missing file is "no session". So is a file that cannot be read, is larger than 16 KiB, is not valid JSON,
/// has another <c>version</c> than 1 or lacks a part: a warning says why (never what the file holds) and the next save
/// replaces it. Loading throws only for cancellation; saving and clearing throw when the file cannot be written or
/// deleted.</para>
/// <para>Calls are serialised inside one instance. Two instances (or processes) on the same file are not coordinated:
/// the last save wins, and the file is always a whole one.</para>
/// </remarks>
[SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "The SemaphoreSlim never allocates its wait handle (AvailableWaitHandle is not used), so there is nothing to release; a store needs no disposal.")]
public sealed partial class JsonFileMyAppsSessionStore : IMyAppsSessionStore
{
    /// <summary>Event id of "the session file cannot be used, treated as no session" (Warning).</summary>
    internal const int FileUnusableId = 153;

    /// <summary>Event id of "the session file could not be read, treated as no session" (Warning).</summary>
    internal const int FileUnreadableId = 154;

    /// <summary>Event id of "the session file holds another user's session, ignored" (Information).</summary>
    internal const int OtherUserId = 155;

    /// <summary>Event id of "the session was saved" (Debug).</summary>
    internal const int SavedId = 156;

    /// <summary>Event id of "the session file was deleted" (Debug).</summary>
    internal const int ClearedId = 157;

    /// <summary>The largest file read: a session id and password take some hundred bytes, so anything near this is not one.</summary>
    internal const int MaxFileBytes = 16 * 1024;

    private const int CurrentVersion = 1;

    private readonly string _path;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Creates a store on <paramref name="path"/>. Nothing is read or written until the first call.</summary>
    /// <param name="path">The JSON file. Its folder is created on the first save if it does not exist.</param>
    /// <param name="logger">Receives a warning when the file cannot be used; <see langword="null"/> logs nothing.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or names a directory.</exception>
    public JsonFileMyAppsSessionStore(string path, ILogger<JsonFileMyAppsSessionStore>? logger = null)
    {
        _path = StateFiles.FullFilePath(path);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>The full path of the JSON file.</summary>
    public string FilePath => _path;

    /// <summary>
    /// The default session file of one primary PBX and user: beside the redundancy record's default file
    /// (<see cref="JsonFileRedundancyStore.GetDefaultPath"/>), in <see cref="JsonFileRedundancyStore.GetDefaultDirectory"/>,
    /// with the same name but ending in <c>.session.json</c>, for example <c>pbx.example.com_PBX0_alice_1a2b3c4d.session.json</c>.
    /// </summary>
    /// <param name="primary">The configured primary PBX, as in <see cref="RedundancyOptions.Primary"/>.</param>
    /// <param name="user">The user's SIP name, as in <see cref="MyAppsTransportOptions.Username"/>.</param>
    /// <param name="directory">The folder to place the file in; <see langword="null"/> for <see cref="JsonFileRedundancyStore.GetDefaultDirectory"/>.</param>
    /// <returns>The full path; nothing is created until the first save.</returns>
    /// <exception cref="InvalidOperationException"><paramref name="directory"/> is <see langword="null"/> and the process has no
    /// per-user data folder; give a folder or a path explicitly.</exception>
    public static string GetDefaultPath(PbxAddress primary, string? user, string? directory = null)
    {
        ArgumentNullException.ThrowIfNull(primary);
        directory ??= StateFiles.DefaultDirectory() ?? throw new InvalidOperationException(
            "This process has no per-user data folder (the home directory is not set), so the myApps session has no default location. "
            + "Give a session file path, or keep the session in memory only.");
        return StateFiles.DefaultPath(primary, user, directory, ".session.json");
    }

    /// <inheritdoc/>
    public async ValueTask<MyAppsSession?> LoadAsync(string user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var kept = await ReadAsync(cancellationToken).ConfigureAwait(false);
            if (kept is not { } found)
            {
                return null;
            }

            if (!string.Equals(found.User, user, StringComparison.Ordinal))
            {
                LogOtherUser(_logger, _path);
                return null;
            }

            return found.Session;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc/>
    public async ValueTask SaveAsync(string user, MyAppsSession session, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(session);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var file = new SessionFile
            {
                Version = CurrentVersion,
                User = user,
                Session = new SessionDto { Id = session.Id, Password = session.Password },
            };
            await StateFiles.WriteAtomicallyAsync(_path, JsonSerializer.SerializeToUtf8Bytes(file, SessionStoreJsonContext.Default.SessionFile), cancellationToken)
                .ConfigureAwait(false);
            LogSaved(_logger, _path);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc/>
    /// <remarks>The file holds one session: this deletes it, whichever user it was saved for (a secret less on disk; at
    /// worst that user signs in again).</remarks>
    public async ValueTask ClearAsync(string user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (File.Exists(_path))
            {
                File.Delete(_path);
                LogCleared(_logger, _path);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Shows the path only.</summary>
    public override string ToString() => $"JsonFileMyAppsSessionStore {{ FilePath = {_path} }}";

    /// <summary>The user and session the file holds; <see langword="null"/> (after a warning, unless there is no file) when it holds none that can be used.</summary>
    private async Task<(string User, MyAppsSession Session)?> ReadAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxFileBytes + 1];
        int length;
        try
        {
            var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
            {
                // One byte more than allowed tells an oversized file without reading all of it (nor without end, for a device).
                length = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogFileUnreadable(_logger, _path, e.GetType().Name, e.Message);
            return null;
        }

        var problem = length > MaxFileBytes ? $"larger than {MaxFileBytes} bytes" : null;
        if (problem is null && TryParse(buffer.AsSpan(0, length), out var found, out problem))
        {
            return found;
        }

        LogFileUnusable(_logger, _path, problem!);
        return null;
    }

    private static bool TryParse(ReadOnlySpan<byte> bytes, out (string User, MyAppsSession Session) found, [NotNullWhen(false)] out string? problem)
    {
        found = default;
        SessionFile? file;
        try
        {
            file = JsonSerializer.Deserialize(bytes, SessionStoreJsonContext.Default.SessionFile);
        }
        catch (JsonException e)
        {
            // Only the position: the exception's message may quote what it stumbled on.
            problem = e.LineNumber is { } line
                ? $"not valid JSON or not a session file's shape, at line {line + 1}, byte {e.BytePositionInLine + 1}"
                : "not valid JSON or not a session file's shape";
            return false;
        }

        if (file is { Version: CurrentVersion, User: { Length: > 0 } user, Session: { Id: { Length: > 0 } id, Password: { } password } })
        {
            found = (user, new MyAppsSession(id, password));
            problem = null;
            return true;
        }

        problem = file switch
        {
            null => "not a JSON object",
            { Version: null } => "no 'version'",
            { Version: not CurrentVersion } => $"version {file.Version} is not supported (this library reads version {CurrentVersion})",
            { User: null or "" } => "no 'user'",
            { Session: null } => "no 'session' object",
            { Session.Id: null or "" } => "the session has no 'id'",
            _ => "the session has no 'password'",
        };
        return false;
    }

    [LoggerMessage(FileUnusableId, LogLevel.Warning, "The myApps session file {Path} cannot be used ({Problem}); treating it as no session, the next save replaces it")]
    private static partial void LogFileUnusable(ILogger logger, string path, string problem);

    [LoggerMessage(FileUnreadableId, LogLevel.Warning, "The myApps session file {Path} could not be read ({ExceptionType}: {Message}); treating it as no session")]
    private static partial void LogFileUnreadable(ILogger logger, string path, string exceptionType, string message);

    [LoggerMessage(OtherUserId, LogLevel.Information, "The myApps session file {Path} holds another user's session; ignored, the next save replaces it")]
    private static partial void LogOtherUser(ILogger logger, string path);

    [LoggerMessage(SavedId, LogLevel.Debug, "Saved the myApps session to {Path}")]
    private static partial void LogSaved(ILogger logger, string path);

    [LoggerMessage(ClearedId, LogLevel.Debug, "Deleted the myApps session file {Path}")]
    private static partial void LogCleared(ILogger logger, string path);
}

/// <summary>The session file's root object.</summary>
internal sealed class SessionFile
{
    public int? Version { get; set; }

    public string? User { get; set; }

    public SessionDto? Session { get; set; }
}

/// <summary>The session as stored.</summary>
internal sealed class SessionDto
{
    public string? Id { get; set; }

    public string? Password { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = true)]
[JsonSerializable(typeof(SessionFile))]
internal sealed partial class SessionStoreJsonContext : JsonSerializerContext;
