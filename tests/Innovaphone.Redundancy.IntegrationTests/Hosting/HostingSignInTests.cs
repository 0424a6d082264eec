using FluentAssertions;
using Innovaphone.Redundancy.Hosting;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Hosting;

/// <summary>
/// A hosted service of an installation that signs its users in through an identity provider: the method comes from
/// configuration (AllowSingleSignOn, no password), the sign-in URL from the log (event 172), and PersistSession keeps
/// the session in a 0600 file of its own, apart from the state.
/// </summary>
[Trait("Category", "Integration")]
public sealed class HostingSignInTests
{
    private const string User = "alice";
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task R13_ConfiguredForSingleSignOn_LogsTheSignInUrl_AndKeepsTheSessionApartFromTheState()
    {
        await using var emulator = new PbxEmulator();
        var master = await emulator.AddMasterAsync(cancellationToken: TestContext.Current.CancellationToken);
        emulator.System.SetLoginMethods(master, SimulatedLoginMethods.SingleSignOnOnly);
        emulator.System.AddUser(User, "not-used-by-sso", home: master);
        emulator.SignInAs(User);
        var directory = Directory.CreateTempSubdirectory("ipr-hosting-sso-");
        var signIns = new SignInUrls();
        try
        {
            using var host = HostingRig.Build(HostingRig.Settings(
                ("Primary", master.Address.ToString()),
                ("Scheme", "Ws"),
                ("AllowInsecure", "true"),
                ("User", User),
                ("AllowSingleSignOn", "true"),
                ("StateDirectory", directory.FullName),
                ("PersistSession", "true")),
                services => services.AddSingleton<ILoggerProvider>(signIns));
            var manager = host.Services.GetRequiredService<RedundancyManager>();

            await host.StartAsync(TestContext.Current.CancellationToken);
            var url = await signIns.First.WaitAsync(Guard, TestContext.Current.CancellationToken);
            using (var browser = new HttpClient())
            {
                (await browser.GetAsync(url, TestContext.Current.CancellationToken)).IsSuccessStatusCode.Should().BeTrue();
            }

            await manager.WaitForAsync(i => i.Up && i.Cur == master.Address);
            await host.StopAsync(TestContext.Current.CancellationToken);

            var files = directory.GetFiles();
            var session = files.Should().ContainSingle(f => f.Name.EndsWith(".session.json", StringComparison.Ordinal)).Which;
            var state = files.Should().ContainSingle(f => !f.Name.EndsWith(".session.json", StringComparison.Ordinal)).Which;
            if (!OperatingSystem.IsWindows())
            {
                File.GetUnixFileMode(session.FullName).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            var secrets = emulator.SecretsSeen;
            RunSecrets.AddSecrets(secrets);
            var stateText = await File.ReadAllTextAsync(state.FullName, TestContext.Current.CancellationToken);
            secrets.Should().NotBeEmpty().And.OnlyContain(secret => !stateText.Contains(secret, StringComparison.Ordinal), "the state file holds no secret");
            var sessionText = await File.ReadAllTextAsync(session.FullName, TestContext.Current.CancellationToken);
            secrets.Should().Contain(secret => sessionText.Contains(secret, StringComparison.Ordinal), "the session file holds the session");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>The URL of the first sign-in event (172) the service logs.</summary>
    private sealed class SignInUrls : ILoggerProvider, ILogger
    {
        private readonly TaskCompletionSource<Uri> _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<Uri> First => _first.Task;

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == HostingLog.SignInRequiredId && state is IReadOnlyList<KeyValuePair<string, object?>> fields
                && fields.FirstOrDefault(f => f.Key == "Url").Value is string url)
            {
                _first.TrySetResult(new Uri(url));
            }
        }

        public void Dispose()
        {
        }
    }
}
