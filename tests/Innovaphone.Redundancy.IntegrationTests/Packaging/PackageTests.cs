using System.Diagnostics;
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using FluentAssertions;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Packaging;

/// <summary>Packing is heavy (a Release build of the libraries); it runs alone, after the parallel tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackagingTestGroup : ICollectionFixture<PackagesFixture>
{
    /// <summary>The collection name.</summary>
    public const string Name = "Packaging";
}

/// <summary>
/// <c>dotnet pack -c Release</c> of the solution: package contents and metadata, symbols with SourceLink, and a
/// consumer console project outside the repository that installs the packages from a local folder feed and runs
/// the program in tests/PackageSmoke against the loopback PBX emulator.
/// </summary>
[Collection(PackagingTestGroup.Name)]
[Trait("Category", "Packaging")]
public sealed class PackageTests(PackagesFixture packages)
{
    // The CustomDebugInformation kind of the SourceLink JSON in a portable pdb.
    private static readonly Guid SourceLinkKind = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");

    public static TheoryData<string> Ids => [.. PackagesFixture.PackageIds];

    public static TheoryData<string> TargetFrameworks => [.. PackagesFixture.TargetFrameworks];

    [Fact]
    public void Pack_Succeeds_WithOnePackageAndOneSymbolPackagePerLibrary()
    {
        packages.Pack.ExitCode.Should().Be(0, packages.Pack.ToString());
        foreach (var id in PackagesFixture.PackageIds)
        {
            File.Exists(packages.PackagePath(id)).Should().BeTrue($"{id} is packed; {packages.Pack}");
            File.Exists(packages.PackagePath(id, "snupkg")).Should().BeTrue($"{id} has a symbol package; {packages.Pack}");
        }
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Package_HasBothTargetFrameworksWithXmlDocsAndTheReadme(string id)
    {
        using var zip = OpenPackage(id, "nupkg");
        var entries = zip.Entries.Select(e => e.FullName).ToList();

        foreach (var tfm in PackagesFixture.TargetFrameworks)
        {
            entries.Should().Contain($"lib/{tfm}/{id}.dll");
            entries.Should().Contain($"lib/{tfm}/{id}.xml", "IntelliSense needs the XML docs");
        }

        entries.Should().Contain("README.md");
        ReadEntry(zip, "README.md").Should().Be(File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "package-readme.md")));
        entries.Should().NotContain(e => e.EndsWith(".pdb", StringComparison.Ordinal), "symbols go to the .snupkg");
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Package_NuspecCarriesVersionLicenceReadmeAndRepository(string id)
    {
        using var zip = OpenPackage(id, "nupkg");
        var nuspec = XDocument.Parse(ReadEntry(zip, $"{id}.nuspec"));
        var ns = nuspec.Root!.Name.Namespace;
        var metadata = nuspec.Root.Element(ns + "metadata")!;
        string? Value(string name) => metadata.Element(ns + name)?.Value;

        Value("version").Should().Be(packages.Version, "the version comes from Directory.Build.props (here with the smoke suffix)");
        packages.Version.Should().StartWith(packages.BaseVersion + "-");
        metadata.Element(ns + "license")!.Attribute("type")!.Value.Should().Be("expression");
        Value("license").Should().Be("MIT");
        Value("readme").Should().Be("README.md");
        Value("description").Should().NotBeNullOrWhiteSpace();
        Value("tags").Should().Contain("innovaphone");
        Value("authors").Should().NotBeNullOrWhiteSpace();
        Value("projectUrl").Should().Be(packages.RepositoryUrl);
        var repository = metadata.Element(ns + "repository")!;
        repository.Attribute("type")!.Value.Should().Be("git");
        repository.Attribute("url")!.Value.Should().Be(packages.RepositoryUrl);
        repository.Attribute("commit")?.Value.Should().MatchRegex("^[0-9a-f]{40}$", "SourceLink records the commit");
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void SymbolPackage_HasPdbsWithSourceLinkAndDeterministicPaths(string id)
    {
        using var zip = OpenPackage(id, "snupkg");
        foreach (var tfm in PackagesFixture.TargetFrameworks)
        {
            var entry = zip.GetEntry($"lib/{tfm}/{id}.pdb");
            entry.Should().NotBeNull($"the symbol package has the {tfm} pdb");

            using var pdb = new MemoryStream();
            using (var stream = entry!.Open())
            {
                stream.CopyTo(pdb);
            }

            pdb.Position = 0;
            using var provider = MetadataReaderProvider.FromPortablePdbStream(pdb);
            var reader = provider.GetMetadataReader();

            var sourceLink = reader.CustomDebugInformation
                .Select(reader.GetCustomDebugInformation)
                .Where(info => reader.GetGuid(info.Kind) == SourceLinkKind)
                .Select(info => Encoding.UTF8.GetString(reader.GetBlobBytes(info.Value)))
                .SingleOrDefault();
            sourceLink.Should().NotBeNull($"{id} {tfm} pdb carries SourceLink");
            using var json = JsonDocument.Parse(sourceLink!);
            json.RootElement.GetProperty("documents").GetProperty("/_/*").GetString()
                .Should().StartWith("https://", "sources map to the repository's content URL");

            var documents = reader.Documents.Select(d => reader.GetString(reader.GetDocument(d).Name)).ToList();
            documents.Should().NotBeEmpty().And.OnlyContain(
                name => name.StartsWith("/_/", StringComparison.Ordinal),
                "a ContinuousIntegrationBuild maps the source paths of the build machine to /_/");
        }
    }

    [Theory]
    [MemberData(nameof(TargetFrameworks))]
    public async Task Consumer_InstalledFromTheFeed_ConnectsToTheEmulator(string tfm)
    {
        packages.Pack.ExitCode.Should().Be(0, packages.Pack.ToString());
        var build = await packages.ConsumerBuild;
        build.ExitCode.Should().Be(0, build.ToString());

        // The consumer got the packages just packed, not a copy cached from an earlier pack.
        var output = Path.Combine(packages.ConsumerDirectory, "bin", "Debug", tfm);
        foreach (var id in PackagesFixture.PackageIds)
        {
            FileVersionInfo.GetVersionInfo(Path.Combine(output, $"{id}.dll")).ProductVersion
                .Should().StartWith(packages.Version);
        }

        var run = await ChildProcess.RunDotnetAsync(
            [Path.Combine(output, "PackageSmoke.dll")], packages.ConsumerDirectory, TimeSpan.FromMinutes(1),
            environment: null, TestContext.Current.CancellationToken);

        run.ExitCode.Should().Be(0, run.ToString());
        var lines = run.Output.Split('\n', StringSplitOptions.TrimEntries);
        var pri = lines.Single(l => l.StartsWith("pri ", StringComparison.Ordinal))["pri ".Length..];
        var connInfoLine = lines.SingleOrDefault(l => l.StartsWith("connInfo ", StringComparison.Ordinal));
        connInfoLine.Should().NotBeNull(run.ToString());
        var info = ConnInfo.FromJson(connInfoLine!["connInfo ".Length..]);
        info.Up.Should().BeTrue(run.ToString());
        info.Standby.Should().BeFalse(run.ToString());
        info.Pri.Should().Be(PbxAddress.Parse(pri));
        info.Cur.Should().Be(info.Pri, "the user lives on the primary");
    }

    private ZipArchive OpenPackage(string id, string extension)
    {
        packages.Pack.ExitCode.Should().Be(0, packages.Pack.ToString());
        return ZipFile.OpenRead(packages.PackagePath(id, extension));
    }

    private static string ReadEntry(ZipArchive zip, string name)
    {
        using var reader = new StreamReader(zip.GetEntry(name)!.Open());
        return reader.ReadToEnd();
    }
}
