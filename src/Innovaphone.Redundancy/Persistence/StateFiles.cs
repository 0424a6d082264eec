using System.Security.Cryptography;
using System.Text;

namespace Innovaphone.Redundancy.Persistence;

/// <summary>
/// What the state files of the library share: their default folder and names, and the one way they are written
/// (owner-only, atomic). Used by <see cref="JsonFileRedundancyStore"/> and the myApps session store.
/// </summary>
internal static class StateFiles
{
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>The full path of a store's file, checked when the store is created.</summary>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or names a directory.</exception>
    public static string FullFilePath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var fullPath = Path.GetFullPath(path);
        return string.IsNullOrEmpty(Path.GetFileName(fullPath))
            ? throw new ArgumentException($"'{path}' names a directory; give a file path.", nameof(path))
            : fullPath;
    }

    /// <summary><c>Innovaphone.Redundancy/state</c> in the per-user local data folder, or <see langword="null"/> without one.</summary>
    public static string? DefaultDirectory()
    {
        var root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        return string.IsNullOrEmpty(root) ? null : Path.Combine(root, "Innovaphone.Redundancy", "state");
    }

    /// <summary>
    /// The file of one primary PBX and user in <paramref name="directory"/>: <c>&lt;host&gt;_&lt;module&gt;[_&lt;user&gt;]_&lt;hash&gt;&lt;extension&gt;</c>.
    /// Characters a file name may not hold become <c>_</c>; the hash of the exact key keeps two such names apart.
    /// </summary>
    public static string DefaultPath(PbxAddress primary, string? user, string directory, string extension)
    {
        var key = string.IsNullOrEmpty(user) ? primary.ToString() : $"{primary}|{user}";
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)).AsSpan(0, 4)).ToLowerInvariant();
        var name = string.IsNullOrEmpty(user) ? $"{primary.Authority}_{primary.Module}" : $"{primary.Authority}_{primary.Module}_{user}";
        return Path.GetFullPath(Path.Combine(directory, $"{SafeFileName(name)}_{hash}{extension}"));
    }

    /// <summary>
    /// Replaces <paramref name="path"/> with <paramref name="content"/> in one rename: a crash leaves the old file or the
    /// new one, never half of one. On Unix the file is created 0600 and a folder that does not exist yet 0700 (an existing
    /// folder is left as it is); on Windows both inherit the folder's ACL.
    /// </summary>
    public static async Task WriteAtomicallyAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(path)!;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else if (!Directory.Exists(directory))
        {
            // A folder we create is the owner's only (0700), like the file; an existing one is left as it is.
            Directory.CreateDirectory(directory, OwnerOnlyDirectory);
        }

        // Same directory as the target: File.Move is then a rename on one file system, which is atomic.
        var tempPath = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            Options = FileOptions.Asynchronous,
        };
        if (!OperatingSystem.IsWindows())
        {
            // Created 0600 from the start, so the content is never readable by others, not even briefly.
            options.UnixCreateMode = OwnerOnlyFile;
        }

        try
        {
            var stream = new FileStream(tempPath, options);
            await using (stream.ConfigureAwait(false))
            {
                await stream.WriteAsync(content, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);

                // Durable before the rename, so a power loss cannot leave an empty file in place of the old one.
                stream.Flush(flushToDisk: true);
            }

            File.Move(tempPath, path, overwrite: true);
        }
        catch
        {
            TryDelete(tempPath);
            throw;
        }
    }

    /// <summary>Keeps letters, digits, '.', '-' and '_'; everything else (':' of a port or IPv6 literal, '/', '\', spaces) becomes '_'; at most 80 characters.</summary>
    private static string SafeFileName(string name)
    {
        var chars = new char[Math.Min(name.Length, 80)];
        for (var i = 0; i < chars.Length; i++)
        {
            var c = name[i];
            chars[i] = char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_';
        }

        return new string(chars);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: a stray temporary file is never read, and it is the owner's only like the file it was to replace.
        }
    }
}
