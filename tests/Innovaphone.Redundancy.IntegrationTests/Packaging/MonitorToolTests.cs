using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Xml.Linq;
using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Tests.Monitor;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Packaging;

/// <summary>
/// The ipr-monitor .NET tool as an integrator gets it: packed with the libraries, installed with
/// <c>dotnet tool install --tool-path</c> from the folder feed, and run as the installed command against the loopback
/// emulator, through a redirect and a failover, stopped with SIGTERM.
/// </summary>
[Collection(PackagingTestGroup.Name)]
[Trait("Category", "Packaging")]
public sealed class MonitorToolTests(PackagesFixture packages) : IAsyncLifetime
{
    private const string User = "alice";
    private const string Password = "t00l-Pa55word";
    private const string PasswordVariable = "IPR_MONITOR_TEST_PASSWORD";
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);
    private static readonly string EntryAssembly = $"{PackagesFixture.ToolPackageId}.dll";

    private readonly PbxEmulator _emulator = new();
    private readonly string _dataHome = Path.Combine(packages.Root, $"data-{Guid.NewGuid():N}");
    private readonly List<RunningTool> _tools = [];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        foreach (var tool in _tools)
        {
            await tool.DisposeAsync();
            RunSecrets.Capture($"{nameof(MonitorToolTests)} stdout", tool.Stdout.Text);
            RunSecrets.Capture($"{nameof(MonitorToolTests)} stderr", tool.Stderr.Text);
        }

        RunSecrets.AddSecrets([Password, .. _emulator.SecretsSeen]);
        await _emulator.DisposeAsync();
    }

    [Fact]
    public void ToolPackage_CarriesTheCommandForNet8AndNet10()
    {
        packages.Pack.ExitCode.Should().Be(0, packages.Pack.ToString());
        using var zip = ZipFile.OpenRead(packages.PackagePath(PackagesFixture.ToolPackageId));
        var nuspec = XDocument.Load(zip.GetEntry($"{PackagesFixture.ToolPackageId}.nuspec")!.Open());
        var ns = nuspec.Root!.Name.Namespace;
        nuspec.Root.Element(ns + "metadata")!.Element(ns + "packageTypes")!.Elements(ns + "packageType")
            .Select(t => (string?)t.Attribute("name")).Should().Contain("DotnetTool");

        foreach (var tfm in PackagesFixture.TargetFrameworks)
        {
            var settings = zip.GetEntry($"tools/{tfm}/any/DotnetToolSettings.xml");
            settings.Should().NotBeNull($"the tool runs on {tfm}");
            var command = XDocument.Load(settings!.Open()).Descendants("Command").Single();
            ((string?)command.Attribute("Name")).Should().Be(PackagesFixture.ToolCommandName);
            zip.GetEntry($"tools/{tfm}/any/System.CommandLine.dll").Should().NotBeNull("a tool carries its dependencies");
        }
    }

    public static TheoryData<string, string> ReadyToRunTargets =>
        [.. PackagesFixture.TargetFrameworks.SelectMany(tfm => PackagesFixture.ToolReadyToRunRuntimeIdentifiers.Select(rid => (tfm, rid)))];

    [Fact]
    public void ToolPackage_IsAClassicToolPackage_AsTheNet8SdkReadsIt()
    {
        packages.Pack.ExitCode.Should().Be(0, packages.Pack.ToString());
        // .NET 10's RID-specific tool packages would be a pointer package plus one package per RID (Id.<rid>); the
        // pointer needs a .NET 10 SDK to install.
        Directory.GetFiles(packages.Feed, $"{PackagesFixture.ToolPackageId}.*.nupkg").Select(Path.GetFileName)
            .Should().Equal(Path.GetFileName(packages.PackagePath(PackagesFixture.ToolPackageId)));
        using var zip = ZipFile.OpenRead(packages.PackagePath(PackagesFixture.ToolPackageId));
        var nuspec = XDocument.Load(zip.GetEntry($"{PackagesFixture.ToolPackageId}.nuspec")!.Open());
        var ns = nuspec.Root!.Name.Namespace;
        nuspec.Root.Element(ns + "metadata")!.Element(ns + "packageTypes")!.Elements(ns + "packageType")
            .Select(t => (string?)t.Attribute("name")).Should().Equal(["DotnetTool"], "not DotnetToolRidPackage");
        zip.Entries.Where(e => e.FullName.StartsWith("tools/", StringComparison.Ordinal)).Should().OnlyContain(
            e => PackagesFixture.TargetFrameworks.Any(tfm => e.FullName.StartsWith($"tools/{tfm}/any/", StringComparison.Ordinal)),
            "a .NET 8 SDK takes the tool from tools/<tfm>/any/");

        foreach (var tfm in PackagesFixture.TargetFrameworks)
        {
            // What the .NET 8 SDK's ToolConfigurationDeserializer accepts: exactly one command with the runner "dotnet";
            // a Version above 1 only warns there, and RuntimeIdentifierPackages is unknown to it.
            var settings = XDocument.Load(zip.GetEntry($"tools/{tfm}/any/DotnetToolSettings.xml")!.Open()).Root!;
            settings.Name.LocalName.Should().Be("DotNetCliTool");
            ((string?)settings.Attribute("Version")).Should().Be("1");
            settings.Elements().Select(e => e.Name.LocalName).Should().Equal(["Commands"], "no RuntimeIdentifierPackages");
            var command = settings.Element("Commands")!.Elements().Should().ContainSingle().Subject;
            command.Name.LocalName.Should().Be("Command");
            ((string?)command.Attribute("Name")).Should().Be(PackagesFixture.ToolCommandName);
            ((string?)command.Attribute("Runner")).Should().Be("dotnet");
            var entryPoint = (string?)command.Attribute("EntryPoint");
            entryPoint.Should().Be($"{PackagesFixture.ToolPackageId}.dll");
            zip.GetEntry($"tools/{tfm}/any/{entryPoint}").Should().NotBeNull();
        }
    }

    [Theory]
    [MemberData(nameof(ReadyToRunTargets))]
    public void ToolPackage_CarriesReadyToRunCopiesForTheRid_AndTheIlForEveryOtherPlatform(string tfm, string rid)
    {
        packages.Pack.ExitCode.Should().Be(0, packages.Pack.ToString());
        using var zip = ZipFile.OpenRead(packages.PackagePath(PackagesFixture.ToolPackageId));
        var any = $"tools/{tfm}/any/";
        var ilAssemblies = zip.Entries
            .Where(e => e.FullName.StartsWith(any, StringComparison.Ordinal) && !e.FullName[any.Length..].Contains('/', StringComparison.Ordinal) && e.Name.EndsWith(".dll", StringComparison.Ordinal))
            .ToList();
        ilAssemblies.Select(e => e.Name).Should().Contain(["Innovaphone.Redundancy.dll", "Innovaphone.Redundancy.Monitor.dll", "System.CommandLine.dll"]);
        var runtimeTargets = RuntimeTargets(zip, $"{any}{PackagesFixture.ToolPackageId}.deps.json");

        foreach (var il in ilAssemblies)
        {
            // The runtime refuses an assembly precompiled for another platform (BadImageFormatException), so the copies
            // every platform may load stay IL.
            ReadEntryImage(il).IsReadyToRun.Should().BeFalse($"{il.FullName} is the IL copy for the platforms without a precompiled one");
            var path = $"runtimes/{rid}/lib/{tfm}/{il.Name}";
            var copy = zip.GetEntry(any + path);
            if (il.Name == EntryAssembly)
            {
                copy.Should().BeNull("the host loads the entry assembly from tools/<tfm>/any/ whatever the deps.json says");
                continue;
            }

            copy.Should().NotBeNull($"{il.Name} has a precompiled copy for {rid}");
            var image = ReadEntryImage(copy!);
            image.IsReadyToRun.Should().BeTrue($"{copy!.FullName} is ReadyToRun");
            image.Machine.Should().Be(ReadyToRunImage.MachineOf(rid), $"{copy.FullName} is precompiled for {rid}");
            runtimeTargets.Should().Contain(path, rid, "the host finds the copy through the deps.json");
        }
    }

    [Fact]
    public async Task InstalledTool_LoadsReadyToRunAssembliesWhereAPrecompiledCopyExists()
    {
        // The host traces the trusted platform assemblies it hands to the runtime: the files the tool loads.
        var trace = Path.Combine(packages.Root, $"host-trace-{Guid.NewGuid():N}.txt");
        var tool = await StartAsync(new Dictionary<string, string> { ["COREHOST_TRACE"] = "1", ["COREHOST_TRACEFILE"] = trace }, "--version");

        var exit = await tool.WaitForExitAsync(Guard);

        exit.Should().Be(0, tool.ToString());
        const string Property = "TRUSTED_PLATFORM_ASSEMBLIES = ";
        var assemblies = File.ReadLines(trace).Where(l => l.Contains(Property, StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(Property, StringComparison.Ordinal) + Property.Length)..]).Should().ContainSingle().Subject
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p.StartsWith(packages.ToolPath, StringComparison.Ordinal))
            .ToList();
        assemblies.Select(Path.GetFileName).Should().Contain(["Innovaphone.Redundancy.dll", EntryAssembly, "System.CommandLine.dll"]);
        assemblies.Where(p => Path.GetFileName(p) == EntryAssembly).Should().ContainSingle()
            .Which.Should().Match(p => !ReadyToRunImage.Read(p).IsReadyToRun, "the entry assembly is the IL copy on every platform");
        assemblies.RemoveAll(p => Path.GetFileName(p) == EntryAssembly);
        var precompiled = PackagesFixture.ToolReadyToRunRuntimeIdentifiers.Contains(RuntimeInformation.RuntimeIdentifier);
        assemblies.Should().OnlyContain(
            p => ReadyToRunImage.Read(p).IsReadyToRun == precompiled,
            precompiled ? $"the package has ReadyToRun copies for {RuntimeInformation.RuntimeIdentifier}" : "other platforms run the IL copies");
    }

    [Fact]
    public async Task GlobalInstall_PutsTheCommandInTheDotnetToolsFolder_AndItRuns()
    {
        packages.Pack.ExitCode.Should().Be(0, packages.Pack.ToString());
        // --global installs into <home>/.dotnet/tools; DOTNET_CLI_HOME points that home at a temporary folder, so that
        // the machine's own global tools stay untouched.
        var home = Path.Combine(packages.Root, $"home-{Guid.NewGuid():N}");
        Directory.CreateDirectory(home);
        var install = await ChildProcess.RunDotnetAsync(
            ["tool", "install", "--global", PackagesFixture.ToolPackageId, "--add-source", packages.Feed, "--version", packages.Version],
            packages.Root, TimeSpan.FromMinutes(5), new Dictionary<string, string> { ["DOTNET_CLI_HOME"] = home }, TestContext.Current.CancellationToken);
        install.ExitCode.Should().Be(0, install.ToString());

        var command = Path.Combine(home, ".dotnet", "tools", OperatingSystem.IsWindows() ? "ipr-monitor.exe" : "ipr-monitor");
        File.Exists(command).Should().BeTrue(install.ToString());
        var tool = RunningTool.Start(command, ["--version"], new Dictionary<string, string>());
        _tools.Add(tool);

        var exit = await tool.WaitForExitAsync(Guard);

        exit.Should().Be(0, tool.ToString());
        tool.Stdout.Text.Should().StartWith(packages.Version, "the installed command is the version just packed");
    }

    [Fact]
    public async Task InstalledTool_Help_ExitsZeroWithUsageAndOptions()
    {
        var tool = await StartAsync("--help");

        var exit = await tool.WaitForExitAsync(Guard);

        exit.Should().Be(0, tool.ToString());
        tool.Stdout.Text.Should().Contain("Usage:").And.Contain("ipr-monitor [options]").And.Contain("--pbx").And.Contain("--password-env");
    }

    [Fact]
    public async Task InstalledTool_UsageError_ExitsTwoWithTheErrorOnStderr()
    {
        var tool = await StartAsync("--pbx", "not a pbx", "--user", User);

        var exit = await tool.WaitForExitAsync(Guard);

        exit.Should().Be(2, tool.ToString());
        tool.Stderr.Text.Should().Contain("--pbx 'not a pbx' is not a PBX");
        tool.Stdout.Text.Should().BeEmpty();
    }

    [Fact]
    public async Task InstalledTool_RedirectAndFailover_TellsTheStoryAndStopsCleanlyOnSigterm()
    {
        var master = await _emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        var slave = await _emulator.AddSlaveAsync(master, cancellationToken: TestContext.Current.CancellationToken);
        _emulator.System.AddUser(User, Password, slave);

        // Default options, as the docs show them: the state file at the default place (here under XDG_DATA_HOME).
        var tool = await StartAsync("--pbx", master.Address.ToString(), "--user", User, "--password-env", PasswordVariable, "--insecure");

        var up = await tool.Stdout.WaitForAsync(l => l.Contains($"connInfo up cur={slave.Address} pri={master.Address}", StringComparison.Ordinal), Guard);
        _emulator.System.Kill(slave);
        await tool.Stdout.WaitForAsync(l => l.Contains($"connInfo up standby cur={master.Address}", StringComparison.Ordinal), Guard, up.Index + 1);
        var exit = await tool.TerminateAsync(Guard);

        exit.Should().Be(0, tool.ToString());
        var story = tool.Stdout.Lines;
        story.Should().Contain(l => l.Contains($"state    Redirected pbx={slave.Address}", StringComparison.Ordinal), tool.ToString());
        story.Should().Contain(l => l.Contains($"state    Connected  pbx={slave.Address}", StringComparison.Ordinal), tool.ToString());
        story.Should().Contain(l => l.Contains($"state    Standby    pbx={master.Address}", StringComparison.Ordinal), tool.ToString());
        story.Should().Contain(l => l.Contains("state    Stopped", StringComparison.Ordinal), tool.ToString());
        story.Where(l => !TimeOnly.TryParseExact(l.Substring(0, 12), "HH:mm:ss.fff", out var _)).Should().BeEmpty("every line starts with the time");

        var stateDirectory = Path.Combine(_dataHome, "Innovaphone.Redundancy", "state");
        var start = tool.Stderr.Lines[0];
        start.Should().StartWith($"ipr-monitor: ws://{master.Address} as {User}; state file {stateDirectory}{Path.DirectorySeparatorChar}");
        File.Exists(start[(start.IndexOf("state file ", StringComparison.Ordinal) + "state file ".Length)..])
            .Should().BeTrue("the default state file holds primary and secondary after a good login");
    }

    [Fact]
    public async Task InstalledTool_Json_KeepsStdoutToConnInfoLines()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        _emulator.System.AddUser(User, Password, pbx);

        var tool = await StartAsync("--pbx", pbx.Address.ToString(), "--user", User, "--password-env", PasswordVariable, "--insecure", "--json", "--no-state-file");

        await tool.Stdout.WaitForAsync(l => l.StartsWith("{\"up\":true", StringComparison.Ordinal), Guard);
        var exit = await tool.TerminateAsync(Guard);

        exit.Should().Be(0, tool.ToString());
        tool.Stdout.Lines.Should().NotBeEmpty().And.OnlyContain(l => ConnInfo.FromJson(l).ToJson() == l, "stdout carries connInfo JSON lines only");
        tool.Stderr.Lines[0].Should().Contain("no state file (--no-state-file)");
    }

    [Fact]
    public async Task InstalledTool_LoginRejected_ExitsThree()
    {
        var pbx = await _emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        _emulator.System.AddUser(User, Password, pbx);

        var tool = await StartAsync(new Dictionary<string, string> { [PasswordVariable] = "wr0ng-Pa55word" },
            "--pbx", pbx.Address.ToString(), "--user", User, "--password-env", PasswordVariable, "--insecure", "--no-state-file");

        var exit = await tool.WaitForExitAsync(Guard);

        exit.Should().Be(3, tool.ToString());
        tool.Stdout.Lines.Should().Contain(l => l.Contains("state    Faulted", StringComparison.Ordinal));
    }

    private static ReadyToRunImage ReadEntryImage(ZipArchiveEntry entry)
    {
        using var copy = new MemoryStream();
        using (var stream = entry.Open())
        {
            stream.CopyTo(copy);
        }

        copy.Position = 0;
        return ReadyToRunImage.Read(copy);
    }

    /// <summary>The runtimeTargets of all libraries in a deps.json: asset path -> RID.</summary>
    private static Dictionary<string, string?> RuntimeTargets(ZipArchive zip, string depsJson)
    {
        using var stream = zip.GetEntry(depsJson)!.Open();
        using var deps = JsonDocument.Parse(stream);
        return deps.RootElement.GetProperty("targets").EnumerateObject().Single().Value.EnumerateObject()
            .SelectMany(library => library.Value.TryGetProperty("runtimeTargets", out var targets) ? targets.EnumerateObject() : [])
            .ToDictionary(target => target.Name, target => target.Value.GetProperty("rid").GetString());
    }

    private Task<RunningTool> StartAsync(params string[] args) => StartAsync(new Dictionary<string, string>(), args);

    private async Task<RunningTool> StartAsync(Dictionary<string, string> environment, params string[] args)
    {
        packages.Pack.ExitCode.Should().Be(0, packages.Pack.ToString());
        var install = await packages.ToolInstall;
        install.ExitCode.Should().Be(0, install.ToString());
        File.Exists(packages.ToolCommand).Should().BeTrue(install.ToString());

        environment.TryAdd(PasswordVariable, Password);
        environment["XDG_DATA_HOME"] = _dataHome;
        var tool = RunningTool.Start(packages.ToolCommand, args, environment);
        _tools.Add(tool);
        return tool;
    }
}

/// <summary>An installed command running as a child process; its stdout and stderr lines can be waited for.</summary>
internal sealed class RunningTool : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _commandLine;

    private RunningTool(Process process, string commandLine)
    {
        _process = process;
        _commandLine = commandLine;
    }

    public LineWriter Stdout { get; } = new();

    public LineWriter Stderr { get; } = new();

    public static RunningTool Start(string command, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment)
    {
        var startInfo = new ProcessStartInfo(command)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in args)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var name in startInfo.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            startInfo.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            startInfo.Environment[name] = value;
        }

        var tool = new RunningTool(new Process { StartInfo = startInfo }, $"{Path.GetFileName(command)} {string.Join(' ', args)}");
        tool._process.OutputDataReceived += (_, e) => WriteLine(tool.Stdout, e.Data);
        tool._process.ErrorDataReceived += (_, e) => WriteLine(tool.Stderr, e.Data);
        tool._process.Start();
        tool._process.BeginOutputReadLine();
        tool._process.BeginErrorReadLine();
        return tool;
    }

    /// <summary>Sends SIGTERM, as a service manager or <c>kill</c> does, and waits for the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!)
        {
            await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        return await WaitForExitAsync(timeout);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{this}\n[did not exit within {timeout}]");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        _process.Dispose();
    }

    public override string ToString() =>
        $"`{_commandLine}`{(_process.HasExited ? $" exited with {_process.ExitCode}" : " running")}:\nstdout:\n{Stdout.Text}\nstderr:\n{Stderr.Text}";

    private static void WriteLine(LineWriter writer, string? line)
    {
        if (line is not null)
        {
            writer.WriteLine(line);
        }
    }
}
