using FluentAssertions;
using Innovaphone.Redundancy.Monitor;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Monitor;

/// <summary>
/// The command line of ipr-monitor, parsed in process: help, every usage error (exit code 2, the message on stderr,
/// nothing on stdout), and that today's options keep their names and meaning.
/// </summary>
public sealed class MonitorCommandLineTests
{
    private const string Thumbprint = "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF";

    public static TheoryData<string[], string> UsageErrors => new()
    {
        { [], "Option '--pbx' is required." },
        { ["--pbx", "pbx.example.com"], "Option '--user' is required." },
        { ["--pbx", "not a pbx", "--user", "alice"], "--pbx 'not a pbx' is not a PBX" },
        { ["--pbx", "http://pbx.example.com/PBX0/APPCLIENT/130000/index.htm", "--user", "alice"], "add --insecure" },
        { ["--pbx", "pbx.example.com", "--user", " "], "--user must not be empty." },
        { ["--pbx", "pbx.example.com", "--user", "alice", "--bogus"], "Unrecognized command or argument '--bogus'." },
        { ["--pbx", "pbx.example.com", "--user", "alice", "--password", "s3cret-on-the-command-line"], "--password is not accepted" },
        { ["--pbx", "pbx.example.com", "--user", "alice", "--password-env", "V", "--password-stdin"], "--password-env and --password-stdin exclude each other" },
        { ["--pbx", "pbx.example.com", "--user", "alice", "--password-env"], "Required argument missing for option: '--password-env'." },
        { ["--pbx", "pbx.example.com", "--user", "alice", "--state-file", "s.json", "--no-state-file"], "--state-file and --no-state-file exclude each other." },
        { ["--pbx", "pbx.example.com", "--user", "alice", "--build", "0"], "--build '0' is not a positive number." },
        { ["--pbx", "pbx.example.com", "--user", "alice", "--build", "many"], "--build 'many' is not a positive number." },
        { ["--pbx", "pbx.example.com", "--user", "alice", "--build"], "Required argument missing for option: '--build'." },
        { ["--pbx", "pbx.example.com", "--user", "alice", "--trust-thumbprint", "AB:CD"], "--trust-thumbprint 'AB:CD' is not a SHA-256 thumbprint" },
        { ["--pbx", "pbx.example.com", "--user", "alice", "--log-level", "loud"], "Cannot parse argument 'loud' for option '--log-level'" },
    };

    [Fact]
    public async Task RunAsync_Help_PrintsUsageAndEveryOptionOnStdoutAndExitsZero()
    {
        var (exit, stdout, stderr) = await RunAsync("--help");

        exit.Should().Be(0);
        stderr.Text.Should().BeEmpty();
        stdout.Text.Should().Contain("Usage:").And.Contain("ipr-monitor [options]").And.Contain("Exit codes: 0 stopped, 2 usage error, 3");
        foreach (var option in (string[])["--pbx", "--user", "--password-env", "--password-stdin", "--phys", "--state-file",
                     "--no-state-file", "--insecure", "--trust-thumbprint", "--build", "--json", "--events", "--log-level", "--version"])
        {
            stdout.Text.Should().Contain(option);
        }

        stdout.Text.Should().NotContain("--password ", "the hidden --password exists only to refuse a password argument");
    }

    [Theory]
    [MemberData(nameof(UsageErrors))]
    public async Task RunAsync_UsageError_ExitsTwoWithTheErrorOnStderrOnly(string[] args, string expected)
    {
        var (exit, stdout, stderr) = await RunAsync(args);

        exit.Should().Be(MonitorCommandLine.UsageError, stderr.Text);
        stderr.Text.Should().Contain(expected).And.Contain("Usage:", "the help follows the error, as System.CommandLine shows it");
        stdout.Text.Should().BeEmpty("scripts read stdout; a usage error writes nothing there");
        stderr.Text.Should().NotContain("s3cret-on-the-command-line", "a password given as an argument is refused without echoing it");
    }

    [Fact]
    public async Task RunAsync_PasswordVariableNotSet_ExitsTwoBeforeConnecting()
    {
        var variable = $"IPR_MONITOR_TEST_UNSET_{Guid.NewGuid():N}";

        var (exit, stdout, stderr) = await RunAsync("--pbx", "127.0.0.1:1/PBX0", "--user", "alice", "--password-env", variable, "--insecure", "--no-state-file");

        exit.Should().Be(MonitorCommandLine.UsageError);
        stderr.Text.Should().Contain($"the environment variable '{variable}' named by --password-env is not set");
        stdout.Text.Should().BeEmpty();
    }

    [Fact]
    public async Task RunAsync_PasswordStdinEmpty_ExitsTwoBeforeConnecting()
    {
        var (exit, _, stderr) = await RunAsync("--pbx", "127.0.0.1:1/PBX0", "--user", "alice", "--password-stdin", "--insecure", "--no-state-file");

        exit.Should().Be(MonitorCommandLine.UsageError);
        stderr.Text.Should().Contain("--password-stdin: standard input has no password line.");
    }

    [Fact]
    public void Bind_TodaysOptions_KeepTheirNamesAndMeaning()
    {
        var settings = Bind("--pbx", "127.0.0.1:4000/PBX1", "--user", "alice", "--password-env", "PW", "--phys", "berlin",
            "--state-file", "state.json", "--insecure", "--build", "140000", "--json");

        settings.Pbx.Should().Be(PbxAddress.Parse("127.0.0.1:4000/PBX1"));
        settings.Scheme.Should().Be(PbxScheme.Ws, "--insecure without a URL means ws://");
        settings.User.Should().Be("alice");
        settings.PasswordVariable.Should().Be("PW");
        settings.Phys.Should().Be("berlin");
        settings.StateFile.Should().Be("state.json");
        settings.NoStateFile.Should().BeFalse();
        settings.Insecure.Should().BeTrue();
        settings.Build.Should().Be(140000);
        settings.Json.Should().BeTrue();
        settings.Events.Should().BeFalse();
        settings.LogLevel.Should().Be(LogLevel.Warning);
    }

    [Theory]
    [InlineData("https://pbx.example.com/PBX0/APPCLIENT/130000/index.htm", false, "pbx.example.com/PBX0", PbxScheme.Wss)]
    [InlineData("http://pbx.example.com:8080/PBX2/APPCLIENT/130000/index.htm", true, "pbx.example.com:8080/PBX2", PbxScheme.Ws)]
    [InlineData("pbx.example.com", false, "pbx.example.com/PBX0", PbxScheme.Wss)]
    [InlineData("pbx.example.com:8443", false, "pbx.example.com:8443/PBX0", PbxScheme.Wss)]
    [InlineData("pbx.example.com/PBX3", false, "pbx.example.com/PBX3", PbxScheme.Wss)]
    [InlineData("pbx.example.com:443/PBX0", false, "pbx.example.com/PBX0", PbxScheme.Wss)]
    [InlineData("[2001:db8::1]:8443/PBX0", false, "[2001:db8::1]:8443/PBX0", PbxScheme.Wss)]
    public void Bind_Pbx_TakesEveryFormUsersHave(string given, bool insecure, string expected, PbxScheme scheme)
    {
        var settings = insecure ? Bind("--pbx", given, "--user", "alice", "--insecure") : Bind("--pbx", given, "--user", "alice");

        settings.Pbx.Should().Be(PbxAddress.Parse(expected));
        settings.Scheme.Should().Be(scheme);
    }

    [Fact]
    public void Bind_Defaults_HumanOutputWarningLogsDefaultStateFileWss()
    {
        var settings = Bind("--pbx", "pbx.example.com", "--user", "alice");

        settings.Json.Should().BeFalse();
        settings.Events.Should().BeFalse();
        settings.LogLevel.Should().Be(LogLevel.Warning, "the human lines tell the story; --log-level information adds the detail");
        settings.StateFile.Should().BeNull("null means the default file of the primary and user");
        settings.NoStateFile.Should().BeFalse();
        settings.Scheme.Should().Be(PbxScheme.Wss);
        settings.PasswordVariable.Should().BeNull();
        settings.PasswordFromStdin.Should().BeFalse();
        settings.TrustedThumbprints.Should().BeEmpty();
    }

    [Fact]
    public void Bind_EventsAndLogLevel_ImplyJsonAndWorkWithIt()
    {
        var settings = Bind("--pbx", "pbx.example.com", "--user", "alice", "--events", "--log-level", "debug");

        settings.Json.Should().BeTrue("--events writes JSON lines");
        settings.Events.Should().BeTrue();
        settings.LogLevel.Should().Be(LogLevel.Debug, "--log-level works together with JSON output (logs are on stderr)");
    }

    [Fact]
    public void Bind_PinningAndPasswordStdinAndNoStateFile_AreTaken()
    {
        var settings = Bind("--pbx", "pbx.example.com", "--user", "alice", "--password-stdin", "--no-state-file",
            "--trust-thumbprint", Thumbprint, "--trust-thumbprint", "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff");

        settings.PasswordFromStdin.Should().BeTrue();
        settings.NoStateFile.Should().BeTrue();
        settings.TrustedThumbprints.Should().HaveCount(2);
    }

    private static MonitorSettings Bind(params string[] args)
    {
        var commandLine = new MonitorCommandLine();
        var parsed = commandLine.Command.Parse(args);
        parsed.Errors.Should().BeEmpty();
        return commandLine.Bind(parsed);
    }

    private static async Task<(int Exit, LineWriter Stdout, LineWriter Stderr)> RunAsync(params string[] args)
    {
        var stdout = new LineWriter();
        var stderr = new LineWriter();
        var exit = await MonitorCommandLine.RunAsync(args, new MonitorConsole(stdout, stderr, new StringReader(string.Empty)), TestContext.Current.CancellationToken);
        return (exit, stdout, stderr);
    }
}
