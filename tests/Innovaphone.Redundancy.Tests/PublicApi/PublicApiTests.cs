using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using PublicApiGenerator;
using Xunit;

namespace Innovaphone.Redundancy.Tests.PublicApi;

/// <summary>
/// The public API of every package is checked in; any change is a visible diff. On a difference the test writes
/// <c>*.received.txt</c> next to the approved file: review it and copy it over the approved one. Runs on both test
/// legs against one approved file per package: the net8.0 and net10.0 builds of each package have the same public API
/// (an API for one of them only would need approved files per target framework).
/// </summary>
public sealed class PublicApiTests
{
    [Theory]
    [InlineData("Innovaphone.Redundancy")]
    [InlineData("Innovaphone.Redundancy.Testing")]
    [InlineData("Innovaphone.Redundancy.Hosting")]
    public void PublicApi_MatchesTheApprovedFile(string assemblyName)
    {
        var assembly = assemblyName switch
        {
            "Innovaphone.Redundancy" => typeof(RedundancyManager).Assembly,
            "Innovaphone.Redundancy.Testing" => typeof(SimulatedPbxSystem).Assembly,
            _ => typeof(Innovaphone.Redundancy.Hosting.RedundancyServiceOptions).Assembly,
        };
        var api = assembly.GeneratePublicApi(new ApiGeneratorOptions
        {
            ExcludeAttributes = ["System.Runtime.Versioning.TargetFrameworkAttribute"],

            // The generator leaves out Microsoft.* namespaces unless allowed; the hosting package's
            // AddInnovaphoneRedundancy lives in Microsoft.Extensions.DependencyInjection, as such extensions do.
            AllowNamespacePrefixes = ["Microsoft.Extensions.DependencyInjection"],
        })
            .ReplaceLineEndings("\n");
        var approved = Path.Combine(Folder(), $"{assemblyName}.approved.txt");
        var received = Path.Combine(Folder(), $"{assemblyName}.received.txt");

        var expected = File.Exists(approved) ? File.ReadAllText(approved).ReplaceLineEndings("\n") : string.Empty;
        if (api != expected)
        {
            File.WriteAllText(received, api);
        }
        else if (File.Exists(received))
        {
            File.Delete(received);
        }

        api.Should().Be(expected, $"the public API of {assemblyName} changed: review {received} and copy it over {approved}");
    }

    private static string Folder() => Path.Combine(RepoPaths.Root, "tests", "Innovaphone.Redundancy.Tests", "PublicApi");
}
