using System.Diagnostics;
using System.IO.Compression;
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
