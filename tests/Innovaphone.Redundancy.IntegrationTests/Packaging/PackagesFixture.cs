using System.Xml.Linq;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Packaging;

/// <summary>
/// Packs the solution once for the packaging tests (<c>dotnet pack -c Release</c>, as CI does) into a temporary
/// folder feed, under a version of its own (<c>&lt;Version&gt;-smoke.&lt;unique&gt;</c>): the NuGet global
/// packages folder keeps a package by id and version for good, so a consumer restoring plain <c>0.1.0</c> could get
/// a copy packed from older sources. The smoke versions are removed from the global packages folder afterwards.
/// </summary>
public sealed class PackagesFixture : IAsyncLifetime
{
    /// <summary>The packages the solution must produce.</summary>
    public static readonly string[] PackageIds = ["Innovaphone.Redundancy", "Innovaphone.Redundancy.Testing", "Innovaphone.Redundancy.Hosting"];

    /// <summary>The target frameworks every package must carry.</summary>
    public static readonly string[] TargetFrameworks = ["net8.0", "net10.0"];

    /// <summary>The package of the ipr-monitor .NET tool.</summary>
    public const string ToolPackageId = "Innovaphone.Redundancy.Monitor";

    /// <summary>The command the tool installs.</summary>
    public const string ToolCommandName = "ipr-monitor";

    /// <summary>
    /// The RIDs whose ReadyToRun copies the tool package carries: MonitorReadyToRunRuntimeIdentifiers in
    /// src/Innovaphone.Redundancy.Monitor/ReadyToRun.targets.
    /// </summary>
    public static readonly string[] ToolReadyToRunRuntimeIdentifiers =
        XDocument.Load(Path.Combine(RepoPaths.Root, "src", ToolPackageId, "ReadyToRun.targets"))
            .Descendants("MonitorReadyToRunRuntimeIdentifiers").Single().Value
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private readonly Lazy<Task<ChildProcessResult>> _consumerBuild;
    private readonly Lazy<Task<ChildProcessResult>> _toolInstall;

    /// <summary>Creates the fixture; <see cref="InitializeAsync"/> packs.</summary>
    public PackagesFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), $"innovaphone-redundancy-packaging-{Guid.NewGuid():N}");
        var props = XDocument.Load(Path.Combine(RepoPaths.Root, "Directory.Build.props"));
        BaseVersion = Property(props, "Version");
        RepositoryUrl = Property(props, "RepositoryUrl");
        Version = $"{BaseVersion}-smoke.g{Guid.NewGuid():N}";
        _consumerBuild = new Lazy<Task<ChildProcessResult>>(BuildConsumerAsync);
        _toolInstall = new Lazy<Task<ChildProcessResult>>(InstallToolAsync);
    }

    /// <summary>The temporary folder holding feed and consumer project (outside the repository).</summary>
    public string Root { get; }

    /// <summary>The local folder feed the packages are packed into.</summary>
    public string Feed => Path.Combine(Root, "feed");

    /// <summary>The consumer console project.</summary>
    public string ConsumerDirectory => Path.Combine(Root, "consumer");

    /// <summary>The version in Directory.Build.props.</summary>
    public string BaseVersion { get; }

    /// <summary>The repository URL in Directory.Build.props.</summary>
    public string RepositoryUrl { get; }

    /// <summary>The version the packages are packed with for this run.</summary>
    public string Version { get; }

    /// <summary>The result of <c>dotnet pack</c>.</summary>
    public ChildProcessResult Pack { get; private set; } = new("dotnet pack", -1, "not run");

    /// <summary>Restores and builds the consumer project once (both target frameworks).</summary>
    public Task<ChildProcessResult> ConsumerBuild => _consumerBuild.Value;

    /// <summary>Installs the tool once from the feed into <see cref="ToolPath"/>, as an integrator does with --tool-path.</summary>
    public Task<ChildProcessResult> ToolInstall => _toolInstall.Value;

    /// <summary>The folder the tool is installed into (<c>dotnet tool install --tool-path</c>).</summary>
    public string ToolPath => Path.Combine(Root, "tools");

    /// <summary>The installed command.</summary>
    public string ToolCommand => Path.Combine(ToolPath, OperatingSystem.IsWindows() ? ToolCommandName + ".exe" : ToolCommandName);

    /// <summary>The path of a package file in the feed.</summary>
    public string PackagePath(string id, string extension = "nupkg") => Path.Combine(Feed, $"{id}.{Version}.{extension}");

    /// <inheritdoc/>
    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(Feed);

        // ContinuousIntegrationBuild as in CI: deterministic source paths (/_/) in the pdbs. --no-restore: the
        // build of this test project restored the solution; a restore here would rewrite the assets files.
        Pack = await ChildProcess.RunDotnetAsync(
            ["pack", Path.Combine(RepoPaths.Root, "Innovaphone.Redundancy.sln"), "-c", "Release", "--no-restore", "-o", Feed,
             $"-p:Version={Version}", "-p:ContinuousIntegrationBuild=true"],
            RepoPaths.Root, TimeSpan.FromMinutes(10), environment: null, TestContext.Current.CancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        var globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in (string[])[.. PackageIds, ToolPackageId])
        {
            var idDirectory = Path.Combine(globalPackages, id.ToLowerInvariant());
            TryDelete(Path.Combine(idDirectory, Version.ToLowerInvariant()));
            if (Directory.Exists(idDirectory) && !Directory.EnumerateFileSystemEntries(idDirectory).Any())
            {
                TryDelete(idDirectory);
            }
        }

        TryDelete(Root);
        return ValueTask.CompletedTask;
    }

    private async Task<ChildProcessResult> BuildConsumerAsync()
    {
        Directory.CreateDirectory(ConsumerDirectory);

        // Empty Directory.Build.* files stop MSBuild looking further up for any that a parent folder might hold.
        await File.WriteAllTextAsync(Path.Combine(ConsumerDirectory, "Directory.Build.props"), "<Project />\n");
        await File.WriteAllTextAsync(Path.Combine(ConsumerDirectory, "Directory.Build.targets"), "<Project />\n");
        File.Copy(Path.Combine(RepoPaths.Root, "tests", "PackageSmoke", "Program.cs.txt"), Path.Combine(ConsumerDirectory, "Program.cs"));
        await File.WriteAllTextAsync(Path.Combine(ConsumerDirectory, "PackageSmoke.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFrameworks>{string.Join(';', TargetFrameworks)}</TargetFrameworks>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <!-- The net8.0 build runs on the newest installed runtime too. -->
                <RollForward>Major</RollForward>
                <NuGetAudit>false</NuGetAudit>
              </PropertyGroup>
              <ItemGroup>
                {string.Join("\n    ", PackageIds.Select(id => $"<PackageReference Include=\"{id}\" Version=\"{Version}\" />"))}
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(ConsumerDirectory, "nuget.config"), ConsumerNuGetConfig().ToString());

        var restore = await ChildProcess.RunDotnetAsync(
            ["restore"], ConsumerDirectory, TimeSpan.FromMinutes(5), environment: null, TestContext.Current.CancellationToken);
        if (restore.ExitCode != 0)
        {
            return restore;
        }

        return await ChildProcess.RunDotnetAsync(
            ["build", "--no-restore"], ConsumerDirectory, TimeSpan.FromMinutes(5), environment: null, TestContext.Current.CancellationToken);
    }

    private async Task<ChildProcessResult> InstallToolAsync()
    {
        // From a folder outside the repository, so that the repository's nuget.config plays no part: the feed is given
        // with --add-source, as the tool's documentation tells integrators.
        Directory.CreateDirectory(ToolPath);
        return await ChildProcess.RunDotnetAsync(
            ["tool", "install", ToolPackageId, "--tool-path", ToolPath, "--add-source", Feed, "--version", Version],
            Root, TimeSpan.FromMinutes(5), environment: null, TestContext.Current.CancellationToken);
    }

    /// <summary>The local feed (the only source of our packages) and the repository's sources for everything else.</summary>
    private XDocument ConsumerNuGetConfig()
    {
        var repoSources = XDocument.Load(Path.Combine(RepoPaths.Root, "nuget.config"))
            .Root!.Element("packageSources")!.Elements("add")
            .Select(add => (Key: (string)add.Attribute("key")!, Value: (string)add.Attribute("value")!))
            .ToList();
        return new XDocument(new XElement("configuration",
            new XElement("packageSources",
                new XElement("clear"),
                new XElement("add", new XAttribute("key", "local"), new XAttribute("value", Feed)),
                repoSources.Select(s => new XElement("add", new XAttribute("key", s.Key), new XAttribute("value", s.Value)))),
            new XElement("packageSourceMapping",
                new XElement("packageSource", new XAttribute("key", "local"),
                    PackageIds.Select(id => new XElement("package", new XAttribute("pattern", id)))),
                repoSources.Select(s => new XElement("packageSource", new XAttribute("key", s.Key),
                    new XElement("package", new XAttribute("pattern", "*")))))));
    }

    private static string Property(XDocument props, string name) =>
        props.Descendants(name).Select(e => e.Value.Trim()).FirstOrDefault(v => v.Length > 0)
        ?? throw new InvalidOperationException($"Directory.Build.props sets no {name}.");

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // Best effort: a temporary folder left behind harms nothing.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
