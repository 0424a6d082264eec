using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Innovaphone.Redundancy.Testing;
using Innovaphone.Redundancy.Testing.Emulation;
using Innovaphone.Redundancy.Tests.Transport;
using Innovaphone.Redundancy.Transport.WebSockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Fuzzing;

/// <summary>
/// Full logins (session learning, redirects, the error 5 fallback, forged digests, failures) through the
/// <see cref="LoginDriver"/> and through <see cref="MyAppsWebSocketTransport"/> against the loopback
/// <see cref="PbxEmulator"/>. Everything a host could see — every log record (message, state values, exception), every
/// exception message, every ToString of options, session and outcome — is searched for every secret: the password,
/// the session ids and passwords, and every response, digest and nonce seen on the wire.
/// </summary>
public sealed class SecretLeakTests
{
    private const string User = "alice";
    private const string Password = "Leak-Pa55-word";
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);

    [Fact]
    public void LoginDriver_AllScenarios_ExposeNoSecret()
    {
        var wire = new List<byte[]>();
        var seen = new List<string>();
        var secrets = new List<string> { Password, FuzzSettings.SessionId, FuzzSettings.SessionPassword };
        const string Nonce = "0123456789abcdef";
        const string Challenge = "9f8e7d6c5b4a39281706";
        RandomBytesFiller pinned = b => Convert.FromHexString(Nonce).CopyTo(b);

        // Scenario: a user login that learns a session, then a session login with it that learns the next one.
        var learned = RunUserLogin(pinned, Password, null, wire, seen, Challenge, "{\"session\":{\"usr\":\"" + MyAppsCrypto.EncryptSessionPart("usr", Nonce, Password, "learned-id-1")
            + "\",\"pwd\":\"" + MyAppsCrypto.EncryptSessionPart("pwd", Nonce, Password, "learned-pw-1") + "\"}}");
        learned.Should().Be(new MyAppsSession("learned-id-1", "learned-pw-1"));
        secrets.AddRange(["learned-id-1", "learned-pw-1"]);
        RunUserLogin(pinned, Password, learned, wire, seen, Challenge, "{\"session\":{\"usr\":\"" + MyAppsCrypto.EncryptSessionPart("usr", Nonce, "learned-pw-1", "learned-id-2")
            + "\",\"pwd\":\"" + MyAppsCrypto.EncryptSessionPart("pwd", Nonce, "learned-pw-1", "learned-pw-2") + "\"}}").Should().NotBeNull();
        secrets.AddRange(["learned-id-2", "learned-pw-2"]);

        // Scenario: session expired (error 5) with and without a password to fall back to.
        foreach (var password in new[] { Password, null })
        {
            var driver = new LoginDriver(PbxAddress.Parse("m.example.com/PBX0"), PbxScheme.Wss, User, password, new MyAppsSession(FuzzSettings.SessionId, FuzzSettings.SessionPassword), "UA", pinned);
            Record(driver.Start(), wire, seen);
            Record(Feed(driver, Authenticate("session", Challenge), wire), wire, seen);
            Record(Feed(driver, "{\"mt\":\"LoginResult\",\"error\":5,\"errorText\":\"session expired\"}", wire), wire, seen);
        }

        // Scenarios after the digest Login: signed and forged Redirects and LoginResults, an Authorize, a rejection.
        var answers = new[]
        {
            Signed("Redirect", "{\"host\":\"other.example.com\",\"https\":8443}", MyAppsCrypto.RedirectDigest(User, Password, Nonce, Challenge, "{\"host\":\"other.example.com\",\"https\":8443}"u8)),
            Signed("Redirect", "{\"host\":\"evil.example.com\"}", MyAppsCrypto.RedirectDigest(User, "guess", Nonce, Challenge, "{\"host\":\"evil.example.com\"}"u8)),
            Signed("LoginResult", "{\"standby\":true}", MyAppsCrypto.LoginResultDigest("example.com", User, "guess", Nonce, Challenge, "{\"standby\":true}"u8)),
            Signed("LoginResult", "{\"standby\":true}", MyAppsCrypto.LoginResultDigest("example.com", User, Password, Nonce, Challenge, "{\"standby\":false}"u8)),
            "{\"mt\":\"LoginResult\",\"error\":1,\"errorText\":\"login failed\"}",
            "{\"mt\":\"Authorize\",\"code\":123456}",
            "{\"mt\":\"LoginResult\",\"info\":{\"session\":{\"usr\":\"zz\",\"pwd\":\"00\"}}}",
            "not json",
        };
        foreach (var answer in answers)
        {
            var driver = new LoginDriver(PbxAddress.Parse("m.example.com/PBX0"), PbxScheme.Wss, User, Password, null, "UA", pinned);
            Record(driver.Start(), wire, seen);
            Record(Feed(driver, LoginFrames.LoginInfoResult(), wire), wire, seen);
            Record(Feed(driver, Authenticate("user", Challenge), wire), wire, seen);
            var step = Feed(driver, answer, wire);
            Record(step, wire, seen);
            if (step.IsFinal)
            {
                seen.Add(Assert.Throws<InvalidOperationException>(() => driver.OnText("{}"u8.ToArray())).Message);
            }
        }

        // A credential-less Redirect, and the exceptions of misuse.
        var first = new LoginDriver(PbxAddress.Parse("m.example.com/PBX0"), PbxScheme.Wss, User, Password, null, "UA", pinned);
        Record(first.Start(), wire, seen);
        Record(Feed(first, LoginFrames.LoginInfoResult(), wire), wire, seen);
        Record(Feed(first, "{\"mt\":\"Redirect\",\"info\":{\"host\":\"x.example.com\"}}", wire), wire, seen);
        seen.Add(Assert.Throws<InvalidOperationException>(() => first.Start()).Message);

        // Single sign-on: the sign-in page, a LoginResult and a verified Redirect carrying the session, forged and
        // session-less Redirects, a method choice that fits nothing.
        secrets.AddRange([LoginFrames.SharedSecret, "sso-sess-id", "sso-sess-pw", "st4te-0f-this-login"]);
        var session = LoginFrames.SignInSession(LoginFrames.SharedSecret);
        foreach (var answer in new[]
        {
            LoginFrames.SignInLoginResult($"{{\"user\":{{\"sip\":\"alice\"}},\"session\":{session},\"keyShare\":\"{LoginFrames.PbxKeyShare}\"}}", LoginFrames.SharedSecret),
            LoginFrames.SignInRedirect($"{{\"host\":\"h.example.com\",\"sip\":\"alice\",\"keyShare\":\"{LoginFrames.PbxKeyShare}\",\"session\":{session}}}", LoginFrames.SharedSecret, "alice"),
            LoginFrames.SignInRedirect($"{{\"host\":\"h.example.com\",\"sip\":\"alice\",\"keyShare\":\"{LoginFrames.PbxKeyShare}\",\"session\":{session}}}", "guess", "alice"),
            LoginFrames.SignInRedirect($"{{\"host\":\"h.example.com\",\"sip\":\"alice\",\"keyShare\":\"{LoginFrames.PbxKeyShare}\"}}", LoginFrames.SharedSecret, "alice"),
        })
        {
            using var driver = new LoginDriver(PbxAddress.Parse("m.example.com/PBX0"), PbxScheme.Wss, string.Empty, null, null, "UA", pinned, allowSingleSignOn: true,
                () => LoginFrames.KeyPair(LoginFrames.ClientPrivateKey, LoginFrames.ClientKeyShare));
            Record(driver.Start(), wire, seen);
            Record(Feed(driver, LoginFrames.LoginInfoResult(digest: false, oauth2: true), wire), wire, seen);
            Record(Feed(driver, LoginFrames.OAuth2Authenticate(), wire), wire, seen);
            Record(Feed(driver, answer, wire), wire, seen);
        }

        var unfit = new LoginDriver(PbxAddress.Parse("m.example.com/PBX0"), PbxScheme.Wss, User, Password, null, "UA", pinned);
        Record(unfit.Start(), wire, seen);
        Record(Feed(unfit, LoginFrames.LoginInfoResult(digest: false, oauth2: true, oauth2Name: "Windows"), wire), wire, seen);
        seen.Add(new MyAppsTransportOptions { Username = User, Password = Password, InitialSession = learned }.ToString());

        ShouldNotContainSecrets(seen, [.. secrets, .. WireSecrets(wire)]);
    }

    [Fact]
    public async Task Transport_LoopbackLogins_ExposeNoSecret()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var emulator = new PbxEmulator();
        var logs = new FakeLogCollector();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new FakeLoggerProvider(logs)).AddProvider(RunSecrets.LoggerProvider));
        var master = await emulator.AddMasterAsync(cancellationToken: ct);
        var slave = await emulator.AddSlaveAsync(master, cancellationToken: ct);
        var other = await emulator.AddMasterAsync(cancellationToken: ct);
        emulator.System.AddUser(User, Password, master);
        emulator.System.AddUser("bob", Password, slave);
        var wire = new List<byte[]>();
        var seen = new List<string>();
        var secrets = new List<string> { Password };

        MyAppsTransportOptions Options(string user, string password) => new()
        {
            Username = user,
            Password = password,
            AllowInsecure = true,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            LoginTimeout = TimeSpan.FromSeconds(5),
            CloseTimeout = TimeSpan.FromSeconds(1),
            LoggerFactory = loggerFactory,
        };

        async Task<LoginOutcome> ConnectAsync(MyAppsWebSocketTransport transport, SimulatedPbx pbx)
        {
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(ct);
            bound.CancelAfter(Guard);
            var outcome = await transport.ConnectAsync(new PbxLoginRequest(pbx.Address, emulator.Scheme, 1), bound.Token);
            seen.Add(outcome.ToString());
            if (outcome is LoggedIn loggedIn)
            {
                seen.Add(loggedIn.Connection.ToString()!);
                seen.Add(loggedIn.Info.ToString());
            }

            if (transport.Session is { } session)
            {
                secrets.AddRange([session.Id, session.Password]);
                seen.Add(session.ToString());
            }

            return outcome;
        }

        ValueTask<WebSocket> Connect(Uri uri, CancellationToken token) => RecordingWebSocket.ConnectAsync(uri, wire, token);

        // alice: user login learning a session, session login, session expiry with the password fallback.
        var alice = new MyAppsWebSocketTransport(Options(User, Password), Connect);
        await using (alice)
        {
            (await ConnectAsync(alice, master)).Should().BeOfType<LoggedIn>();
            (await ConnectAsync(alice, master)).Should().BeOfType<LoggedIn>();
            emulator.System.ExpireSessions(User);
            (await ConnectAsync(alice, master)).Should().BeOfType<LoggedIn>();
            emulator.SetFault(master, EmulatedFault.ForgedDigest);
            (await ConnectAsync(alice, master)).Should().BeOfType<AttemptFailed>().Which.Kind.Should().Be(AttemptFailureKind.ForgedDigest);
            emulator.SetFault(master, EmulatedFault.None);
            (await ConnectAsync(alice, other)).Should().BeOfType<Redirected>("alice lives on the master: a session-login redirect");
            seen.Add(alice.ToString()!);
        }

        seen.Add((await Assert.ThrowsAsync<ObjectDisposedException>(() => alice.ConnectAsync(new PbxLoginRequest(master.Address, emulator.Scheme, 2), ct).AsTask())).Message);

        // bob: redirected from the master to his slave, with a good and with a forged digest; then a wrong password.
        var bob = new MyAppsWebSocketTransport(Options("bob", Password), Connect);
        await using (bob)
        {
            (await ConnectAsync(bob, master)).Should().BeOfType<Redirected>();
            (await ConnectAsync(bob, slave)).Should().BeOfType<LoggedIn>();
            bob.ClearSession();
            emulator.SetFault(master, EmulatedFault.ForgedDigest);
            (await ConnectAsync(bob, master)).Should().BeOfType<AttemptFailed>();
        }

        var wrong = new MyAppsWebSocketTransport(Options(User, "Wrong-Pa55"), Connect);
        await using (wrong)
        {
            secrets.Add("Wrong-Pa55");
            emulator.SetFault(master, EmulatedFault.None);
            (await ConnectAsync(wrong, master)).Should().BeOfType<Rejected>();
        }

        seen.Add(Assert.Throws<ArgumentException>(() => new MyAppsWebSocketTransport(Options(User, Password) with { Username = " " })).Message);
        seen.Add(Options(User, Password).ToString());
        foreach (var record in logs.GetSnapshot())
        {
            seen.Add(record.Message);
            seen.Add(record.Exception?.ToString() ?? string.Empty);
            seen.AddRange(record.StructuredState?.Select(kv => kv.Value ?? string.Empty) ?? []);
        }

        logs.Count.Should().BeGreaterThan(10);
        wire.Should().HaveCountGreaterThan(20);
        ShouldNotContainSecrets(seen, [.. secrets, .. WireSecrets(wire)]);
    }

    private static MyAppsSession? RunUserLogin(RandomBytesFiller random, string password, MyAppsSession? session, List<byte[]> wire, List<string> seen, string challenge, string info)
    {
        var driver = new LoginDriver(PbxAddress.Parse("m.example.com/PBX0"), PbxScheme.Wss, User, password, session, "UA", random);
        Record(driver.Start(), wire, seen);
        if (session is null)
        {
            Record(Feed(driver, LoginFrames.LoginInfoResult(), wire), wire, seen);
        }

        Record(Feed(driver, Authenticate(session is null ? "user" : "session", challenge), wire), wire, seen);
        var step = Feed(driver, Signed("LoginResult", info, MyAppsCrypto.LoginResultDigest(
            "example.com", session?.Id ?? User, session?.Password ?? password, "0123456789abcdef", challenge, Encoding.UTF8.GetBytes(info))), wire);
        Record(step, wire, seen);
        step.LoggedIn.Should().NotBeNull();
        return step.LearnedSession;
    }

    private static string Authenticate(string type, string challenge) =>
        $"{{\"mt\":\"Authenticate\",\"type\":\"{type}\",\"method\":\"digest\",\"domain\":\"example.com\",\"challenge\":\"{challenge}\"}}";

    private static string Signed(string mt, string info, string digest) => $"{{\"mt\":\"{mt}\",\"info\":{info},\"digest\":\"{digest}\"}}";

    private static LoginStep Feed(LoginDriver driver, string frame, List<byte[]> wire)
    {
        var bytes = Encoding.UTF8.GetBytes(frame);
        wire.Add(bytes);
        return driver.OnText(bytes);
    }

    private static void Record(LoginStep step, List<byte[]> wire, List<string> seen)
    {
        wire.AddRange(step.Send);
        seen.Add(step.ToString());
        seen.AddRange(step.Notes);
        seen.Add(step.SignIn?.ToString() ?? string.Empty);
        seen.Add(step.User?.ToString() ?? string.Empty);
        seen.Add(step.Outcome?.ToString() ?? string.Empty);
        seen.Add(step.LoggedIn?.ToString() ?? string.Empty);
        seen.Add(step.LearnedSession?.ToString() ?? string.Empty);
    }

    /// <summary>The response, digest and nonce values of every JSON frame on the wire.</summary>
    private static IEnumerable<string> WireSecrets(List<byte[]> wire)
    {
        var found = new List<string>();
        foreach (var frame in wire)
        {
            try
            {
                using var document = JsonDocument.Parse(frame);
                foreach (var name in new[] { "response", "digest", "nonce" })
                {
                    if (document.RootElement.ValueKind == JsonValueKind.Object
                        && document.RootElement.TryGetProperty(name, out var value)
                        && value.ValueKind == JsonValueKind.String
                        && value.GetString() is { Length: >= 8 } text)
                    {
                        found.Add(text);
                    }
                }
            }
            catch (JsonException)
            {
                // Not JSON: carries no wire secret.
            }
        }

        found.Should().Contain(s => s.Length == 64, "the scenarios must have put responses and digests on the wire");
        return found;
    }

    private static void ShouldNotContainSecrets(List<string> seen, List<string> secrets)
    {
        seen.Should().NotBeEmpty();
        RunSecrets.AddSecrets(secrets);
        var leaks = (from text in seen
                     from secret in secrets.Distinct()
                     where text.Contains(secret, StringComparison.OrdinalIgnoreCase)
                     select $"'{text}' contains a secret of {secret.Length} characters").ToList();
        leaks.Should().BeEmpty();
    }
}
