namespace Innovaphone.Redundancy.TestSupport;

/// <summary>
/// Finds the repository from the test binaries. [CallerFilePath] cannot be used: deterministic CI builds map
/// source paths to "/_/".
/// </summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Innovaphone.Redundancy.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Innovaphone.Redundancy.sln above {AppContext.BaseDirectory}.");
    }
}
