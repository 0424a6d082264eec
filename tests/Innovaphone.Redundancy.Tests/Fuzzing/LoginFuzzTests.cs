using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Innovaphone.Redundancy.Transport;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Fuzzing;

/// <summary>
/// Feeds generated and mutated server frames through <see cref="MyAppsFrame"/> and the <see cref="LoginDriver"/> at every
/// login stage (after the credential-less Login, after the digest Login, after an Authorize), frame after frame until
/// the login ends, and checks after each frame: no exception escapes; the step is a defined result (a clean failed
/// attempt, a rejection from a LoginResult error, or legitimate progress); LoggedIn and a Redirect after the
/// credentials only when the frame's digest verifies by an independent computation here; notes and reasons are
/// non-empty, bounded and free of secrets. Seeded: <c>FUZZ_SEED</c> (default fixed), count <c>FUZZ_FRAMES</c>
/// (default 20,000); a failure reports both and the frame.
/// </summary>
public sealed partial class LoginFuzzTests
{
    private const int DefaultFrames = 20_000;
    private const int MaxReasonLength = 512;

    private static readonly PbxAddress Pbx = PbxAddress.Parse("master.example.com:8443/PBX0");

    private enum Stage
    {
        AfterLogin,
        AfterDigestLogin,
        AfterAuthorize,
    }

    [Fact]
    public void LoginDriver_FuzzedFramesAtEveryStage_EndInDefinedResults()
    {
        var frames = FrameCount("FUZZ_FRAMES", DefaultFrames);
        var seed = Seed();
        var random = new Random(seed);
        var nonceRandom = new Random(seed ^ 0x5eed);
        var generator = new FrameGenerator(random);
        var fed = 0;
        var logins = 0;
        var outcomes = new Dictionary<string, int>(StringComparer.Ordinal);
        var watch = Stopwatch.StartNew();

        while (fed < frames)
        {
            logins++;
            var scheme = random.Next(2) == 0 ? PbxScheme.Wss : PbxScheme.Ws;
            var useSession = random.Next(3) == 0;
            var password = !useSession || random.Next(2) == 0 ? Password : null;
            var model = new LoginModel(useSession, password is not null);
            var history = new List<FuzzInput>();
            var driver = new LoginDriver(Pbx, scheme, User, password, useSession ? new MyAppsSession(SessionId, SessionPassword) : null, "UA", b => nonceRandom.NextBytes(b));

            var step = driver.Start();
            model.OnSent(step.Send[0], null);
            var stage = (Stage)random.Next(3);
            if (stage >= Stage.AfterDigestLogin)
            {
                var authenticate = new FuzzInput(FuzzInputKind.Text, Encoding.UTF8.GetBytes(
                    $"{{\"mt\":\"Authenticate\",\"type\":\"{model.Type}\",\"method\":\"digest\",\"domain\":\"fuzz.example.com\",\"challenge\":\"{LowerHex.Of(RandomBytes(random, 8))}\"}}"), "Authenticate (setup)");
                history.Add(authenticate);
                step = driver.OnText(authenticate.Frame);
                model.OnSent(step.Send[0], authenticate.Frame);
            }

            if (stage == Stage.AfterAuthorize)
            {
                var authorize = new FuzzInput(FuzzInputKind.Text, "{\"mt\":\"Authorize\",\"code\":4711}"u8.ToArray(), "Authorize (setup)");
                history.Add(authorize);
                driver.OnText(authorize.Frame).AuthorizeCode.Should().Be(4711);
            }

            while (fed < frames)
            {
                var input = generator.Next(model.Context);
                history.Add(input);
                fed++;
                string? problem;
                try
                {
                    if (input.Kind == FuzzInputKind.Text)
                    {
                        CheckParsers(input.Frame);
                    }

                    step = Feed(driver, input);
                    problem = Check(step, input, model, scheme);
                }
                catch (Exception e) when (e is not Xunit.Sdk.XunitException)
                {
                    problem = $"unhandled {e.GetType().Name}: {e.Message}\n{e.StackTrace}";
                }

                if (problem is not null)
                {
                    Assert.Fail($"FUZZ_SEED={seed} FUZZ_FRAMES={frames}: frame #{fed} (login #{logins}, stage {stage}, {model}): {problem}\n"
                        + "frames of this login:\n" + string.Join("\n", history.Select(h => "  " + h.Describe())));
                }

                if (step.IsFinal)
                {
                    var key = step.LoggedIn is not null ? "LoggedIn" : step.Outcome switch
                    {
                        AttemptFailed f => "AttemptFailed/" + f.Kind,
                        { } o => o.GetType().Name,
                        null => "?",
                    };
                    outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
                    break;
                }
            }
        }

        var summary = $"fuzzed {fed} frames in {logins} logins in {watch.Elapsed.TotalSeconds:F1} s (FUZZ_SEED={seed}): "
            + string.Join(", ", outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key} {o.Value}"));
        Report(summary);
        outcomes.Keys.Should().Contain(["LoggedIn", "Redirected", "Rejected", "AttemptFailed/ProtocolError", "AttemptFailed/ForgedDigest"], "the generator must reach every kind of result; otherwise it fuzzes too narrowly");
    }

    [Fact]
    public void MyAppsFrame_FuzzedFrames_ParseOrFailCleanly()
    {
        var frames = FrameCount("FUZZ_FRAMES", DefaultFrames);
        var seed = Seed() + 1;
        var generator = new FrameGenerator(new Random(seed));
        var context = new FuzzLoginContext("user", User, Password, "0123456789abcdef", "fuzz.example.com", "c0ffee");
        var watch = Stopwatch.StartNew();
        for (var n = 1; n <= frames; n++)
        {
            var input = generator.NextText(context);
            string? problem;
            try
            {
                problem = CheckParsers(input.Frame);
            }
            catch (Exception e)
            {
                problem = $"unhandled {e.GetType().Name}: {e.Message}\n{e.StackTrace}";
            }

            if (problem is not null)
            {
                Assert.Fail($"FUZZ_SEED={Seed()} (parser seed {seed}) FUZZ_FRAMES={frames}: frame #{n}: {problem}\n  {input.Describe()}");
            }
        }

        Report($"fuzzed {frames} frames through MyAppsFrame.TryParse and TryReadMt in {watch.Elapsed.TotalSeconds:F1} s (FUZZ_SEED={Seed()})");
    }

    /// <summary>TryParse fails with a reason or yields an <c>mt</c>; the post-login <c>mt</c> reader agrees with it.</summary>
    private static string? CheckParsers(byte[] frame)
    {
        var mt = MyAppsFrame.TryReadMt(frame);
        if (!MyAppsFrame.TryParse(frame, out var parsed, out var error))
        {
            return string.IsNullOrWhiteSpace(error) ? "TryParse failed without a reason" : null;
        }

        if (string.IsNullOrEmpty(parsed.Mt))
        {
            return "TryParse succeeded without mt";
        }

        return mt == parsed.Mt ? null : $"TryReadMt says '{mt}', TryParse says '{parsed.Mt}'";
    }

    private static LoginStep Feed(LoginDriver driver, FuzzInput input) => input.Kind switch
    {
        FuzzInputKind.Text => driver.OnText(input.Frame),
        FuzzInputKind.Binary => driver.OnBinary(),
        FuzzInputKind.TooLarge => driver.OnTooLarge(1024 * 1024),
        _ => driver.OnClosed("fuzzed close"),
    };

    /// <summary>What is wrong with <paramref name="step"/> as the answer to <paramref name="input"/>, or null.</summary>
    private static string? Check(LoginStep step, FuzzInput input, LoginModel model, PbxScheme scheme)
    {
        foreach (var note in step.Notes)
        {
            if (BadText(note, model) is { } bad)
            {
                return "note " + bad;
            }
        }

        if (step.SessionDropped && model.Type != "session")
        {
            return "SessionDropped on a user login";
        }

        if (step.LoggedIn is not null)
        {
            if (step.Outcome is not null)
            {
                return "both LoggedIn and an outcome";
            }

            if (model.Phase != LoginPhase.AwaitingResult)
            {
                return "LoggedIn before the digest Login was sent";
            }

            if (!model.Verifies(input, "LoginResult"))
            {
                return "LoggedIn from a frame whose digest does not verify";
            }

            if (step.LearnedSession is { } learned && string.IsNullOrEmpty(learned.Id))
            {
                return "learned a session with an empty id";
            }

            return null;
        }

        switch (step.Outcome)
        {
            case AttemptFailed failed:
                var expectedKinds = input.Kind == FuzzInputKind.Closed
                    ? new[] { AttemptFailureKind.Unreachable }
                    : model.Phase == LoginPhase.AwaitingAuthenticate && input.Kind == FuzzInputKind.Text && IsLoginResultError(input.Frame)
                        ? new[] { AttemptFailureKind.Refused, AttemptFailureKind.ProtocolError }
                        : new[] { AttemptFailureKind.ProtocolError, AttemptFailureKind.ForgedDigest };
                if (!expectedKinds.Contains(failed.Kind))
                {
                    return $"failed as {failed.Kind}";
                }

                return BadText(failed.Reason, model) is { } badReason ? "reason " + badReason : null;
            case Rejected rejected:
                if (input.Kind != FuzzInputKind.Text || !IsLoginResultError(input.Frame))
                {
                    return "Rejected without a LoginResult error";
                }

                return rejected.Text.Length > MaxReasonLength ? $"Rejected text of {rejected.Text.Length} characters (a hostile PBX fills the log)" : null;
            case Redirected redirected:
                if (redirected.Scheme != scheme)
                {
                    return $"Redirected changes the scheme {scheme} -> {redirected.Scheme}";
                }

                if (model.Phase == LoginPhase.AwaitingResult && !model.Verifies(input, "Redirect"))
                {
                    return "Redirected after the credentials from a frame whose digest does not verify";
                }

                return null;
            case { } other:
                return $"unexpected outcome {other.GetType().Name}";
        }

        // Not final: the driver must be making progress it can explain.
        if (step.AuthorizeCode is not null)
        {
            return model.Phase == LoginPhase.AwaitingResult && step.Send.Count == 0 ? null : "Authorize accepted out of order";
        }

        if (step.Send.Count != 1)
        {
            return $"neither final nor progressing (sends {step.Send.Count} frames, no Authorize)";
        }

        return model.OnSent(step.Send[0], input.Frame);
    }

    private static string? BadText(string text, LoginModel model)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "is empty";
        }

        if (text.Length > MaxReasonLength)
        {
            return $"has {text.Length} characters (a hostile PBX fills the log)";
        }

        return model.Secrets().FirstOrDefault(s => text.Contains(s, StringComparison.OrdinalIgnoreCase)) is { } secret
            ? $"'{text}' contains a secret ({secret.Length} characters)"
            : null;
    }

    private static bool IsLoginResultError(byte[] frame)
    {
        try
        {
            using var document = JsonDocument.Parse(frame);
            var root = document.RootElement;
            return root.GetProperty("mt").GetString() == "LoginResult" && root.GetProperty("error").TryGetInt32(out _);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            return false;
        }
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    internal enum LoginPhase
    {
        AwaitingAuthenticate,
        AwaitingResult,
    }

    /// <summary>The test's own model of the login: what was sent, with which credentials, nonce and challenge.</summary>
    private sealed class LoginModel(bool useSession, bool hasPassword)
    {
        private readonly bool _hasPassword = hasPassword;
        private readonly List<string> _wireSecrets = [];

        public string Type { get; private set; } = useSession ? "session" : "user";

        public LoginPhase Phase { get; private set; } = LoginPhase.AwaitingAuthenticate;

        public FuzzLoginContext Context { get; private set; } = new(useSession ? "session" : "user", useSession ? SessionId : User, useSession ? SessionPassword : Password, string.Empty, string.Empty, string.Empty);

        public IEnumerable<string> Secrets() => [Password, SessionId, SessionPassword, .. _wireSecrets];

        /// <summary>Checks a Login the driver sent and moves the model on; returns what is wrong, or null.</summary>
        public string? OnSent(byte[] sent, byte[]? answered)
        {
            using var document = JsonDocument.Parse(sent);
            var root = document.RootElement;
            if (root.GetProperty("mt").GetString() != "Login")
            {
                return "sent something other than a Login";
            }

            var type = root.GetProperty("type").GetString()!;
            if (!root.TryGetProperty("response", out var response))
            {
                // The credential-less Login: the start, or the user login after an expired session (error 5).
                if (answered is not null && !(Type == "session" && _hasPassword && type == "user"))
                {
                    return "a new credential-less Login that is not the retry after an expired session";
                }

                Type = type;
                Phase = LoginPhase.AwaitingAuthenticate;
                Context = new FuzzLoginContext(type, type == "user" ? User : SessionId, type == "user" ? Password : SessionPassword, string.Empty, string.Empty, string.Empty);
                return null;
            }

            if (Phase != LoginPhase.AwaitingAuthenticate || answered is null)
            {
                return "digest Login sent out of order";
            }

            using var authenticate = JsonDocument.Parse(answered);
            var domain = authenticate.RootElement.GetProperty("domain").GetString()!;
            var challenge = authenticate.RootElement.GetProperty("challenge").GetString()!;
            var nonce = root.GetProperty("nonce").GetString()!;
            var expected = Sha256Hex(Encoding.UTF8.GetBytes($"innovaphoneAppClient:{Type}:{domain}:{Context.LoginName}:{Context.Password}:{nonce}:{challenge}"));
            if (type != Type || root.GetProperty("username").GetString() != Context.LoginName || response.GetString() != expected)
            {
                return "the digest Login does not carry the expected type, username and response";
            }

            if (root.TryGetProperty("password", out _))
            {
                return "the digest Login carries a password";
            }

            _wireSecrets.Add(expected);
            Phase = LoginPhase.AwaitingResult;
            Context = Context with { Nonce = nonce, Domain = domain, Challenge = challenge };
            return null;
        }

        /// <summary>Whether the frame is a <paramref name="mt"/> whose digest verifies (computed here, independently of MyAppsCrypto).</summary>
        public bool Verifies(FuzzInput input, string mt)
        {
            try
            {
                using var document = JsonDocument.Parse(input.Frame);
                var root = document.RootElement;
                if (root.GetProperty("mt").GetString() != mt || root.GetProperty("info").ValueKind != JsonValueKind.Object)
                {
                    return false;
                }

                var c = Context;
                var prefix = mt == "Redirect"
                    ? $"innovaphoneAppClient:redirect:{c.LoginName}:{c.Password}:{c.Nonce}:{c.Challenge}:"
                    : $"innovaphoneAppClient:loginresult:{c.Domain}:{c.LoginName}:{c.Password}:{c.Nonce}:{c.Challenge}:";
                var expected = Sha256Hex([.. Encoding.UTF8.GetBytes(prefix), .. JsonMarshal.GetRawUtf8Value(root.GetProperty("info"))]);
                return string.Equals(root.GetProperty("digest").GetString(), expected, StringComparison.OrdinalIgnoreCase);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
            {
                return false;
            }
        }

        public override string ToString() => $"type {Type}, {Phase}";

        private static string Sha256Hex(byte[] data) => LowerHex.Of(SHA256.HashData(data));
    }
}
