using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FluentAssertions;
using Innovaphone.Redundancy.Tests.Transport;
using Innovaphone.Redundancy.Transport.WebSockets;
using Xunit;

using static Innovaphone.Redundancy.TestSupport.FuzzSettings;

namespace Innovaphone.Redundancy.Tests.Fuzzing;

/// <summary>
/// Feeds generated and mutated server frames through <see cref="MyAppsFrame"/> and the <see cref="LoginDriver"/> at every
/// login stage (after LoginInfo, after the credential-less Login, after the digest Login or the sign-in page, after an
/// Authorize), for session, password and single sign-on logins, frame after frame until the login ends, with the
/// LoginInfo deadline as one more input, and checks after each frame: no exception escapes; the step is a defined result
/// (a clean failed attempt, a rejection from a LoginResult error or the method choice, or legitimate progress); LoggedIn
/// and a Redirect after the credentials only when the frame's digest verifies by an independent computation here (after a
/// sign-in: LoggedIn only with a session, a Redirect only when it verifies with a user name of info and carries a
/// session); notes and reasons are non-empty, bounded and free of secrets. Seeded: <c>FUZZ_SEED</c> (default fixed),
/// count <c>FUZZ_FRAMES</c> (default 20,000); a failure reports both and the frame.
/// </summary>
public sealed partial class LoginFuzzTests
{
    private const int DefaultFrames = 20_000;
    private const int MaxReasonLength = 512;

    private static readonly PbxAddress Pbx = PbxAddress.Parse("master.example.com:8443/PBX0");

    private enum Stage
    {
        AfterLoginInfo,
        AfterLogin,
        AfterCredentials,
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
            var singleSignOn = random.Next(2) == 0;
            var password = random.Next(2) == 0 && (useSession || singleSignOn) ? null : Password;
            var model = new LoginModel(useSession, password is not null, singleSignOn);
            var history = new List<FuzzInput>();
            using var driver = new LoginDriver(
                Pbx, scheme, User, password, useSession ? new MyAppsSession(SessionId, SessionPassword) : null, "UA", b => nonceRandom.NextBytes(b), singleSignOn,
                () => LoginFrames.KeyPair(LoginFrames.ClientPrivateKey, LoginFrames.ClientKeyShare));

            var step = driver.Start();
            model.OnSent(step.Send[0], null).Should().BeNull();
            var stage = (Stage)random.Next(4);
            if (stage >= Stage.AfterLogin && step.AwaitsLoginInfo)
            {
                // A 13r3+ PBX offering the method this configuration uses (a password wins, as in the driver).
                var loginInfo = Setup(history, password is not null ? LoginFrames.LoginInfoResult() : LoginFrames.LoginInfoResult(digest: false, oauth2: true), "LoginInfoResult (setup)");
                step = driver.OnText(loginInfo.Frame);
                model.OnSent(step.Send[0], loginInfo.Frame).Should().BeNull();
            }

            if (stage >= Stage.AfterCredentials)
            {
                var authenticate = Setup(history, model.Method == "oauth2"
                    ? $"{{\"mt\":\"Authenticate\",\"type\":\"user\",\"method\":\"oauth2\",\"domain\":\"fuzz.example.com\",\"url\":\"https://idp.example.com/auth?state=x\",\"challenge\":\"{LowerHex.Of(RandomBytes(random, 8))}\"}}"
                    : $"{{\"mt\":\"Authenticate\",\"type\":\"{model.Type}\",\"method\":\"digest\",\"domain\":\"fuzz.example.com\",\"challenge\":\"{LowerHex.Of(RandomBytes(random, 8))}\"}}", "Authenticate (setup)");
                step = driver.OnText(authenticate.Frame);
                Check(step, authenticate, model, scheme).Should().BeNull();
            }

            if (stage == Stage.AfterAuthorize)
            {
                var authorize = Setup(history, "{\"mt\":\"Authorize\",\"code\":4711}", "Authorize (setup)");
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
                        Rejected { Code: < 0 } => "Rejected/client",
                        { } o => o.GetType().Name,
                        null => "?",
                    };
                    key += model.Method == "oauth2" && model.Phase == LoginPhase.AwaitingResult && (step.LoggedIn is not null || step.Outcome is Redirected) ? " (sign-in)" : string.Empty;
                    outcomes[key] = outcomes.GetValueOrDefault(key) + 1;
                    break;
                }
            }
        }

        var summary = $"fuzzed {fed} frames in {logins} logins in {watch.Elapsed.TotalSeconds:F1} s (FUZZ_SEED={seed}): "
            + string.Join(", ", outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key} {o.Value}"));
        Report(summary);
        outcomes.Keys.Should().Contain(
            ["LoggedIn", "Redirected", "Rejected", "Rejected/client", "AttemptFailed/ProtocolError", "AttemptFailed/ForgedDigest", "LoggedIn (sign-in)", "Redirected (sign-in)"],
            "the generator must reach every kind of result; otherwise it fuzzes too narrowly");
    }

    private static FuzzInput Setup(List<FuzzInput> history, string frame, string label)
    {
        var input = new FuzzInput(FuzzInputKind.Text, Encoding.UTF8.GetBytes(frame), label);
        history.Add(input);
        return input;
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
        FuzzInputKind.LoginInfoDeadline => driver.OnLoginInfoTimeout(),
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
                return "LoggedIn before the credentials were sent or the sign-in page shown";
            }

            if (model.Method == "oauth2")
            {
                // The digest of a LoginResult after a sign-in is not required to verify (docs/protocol.md); the session is.
                return step.LearnedSession is { Id.Length: > 0 } ? null : "LoggedIn after a sign-in without a session";
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

        var isText = input.Kind == FuzzInputKind.Text;
        switch (step.Outcome)
        {
            case AttemptFailed failed:
                var expectedKinds = input.Kind == FuzzInputKind.Closed
                    ? new[] { AttemptFailureKind.Unreachable }
                    : model.Phase == LoginPhase.AwaitingAuthenticate && isText && IsLoginResultError(input.Frame)
                        ? new[] { AttemptFailureKind.Refused, AttemptFailureKind.ProtocolError }
                        : new[] { AttemptFailureKind.ProtocolError, AttemptFailureKind.ForgedDigest };
                if (!expectedKinds.Contains(failed.Kind))
                {
                    return $"failed as {failed.Kind}";
                }

                return BadText(failed.Reason, model) is { } badReason ? "reason " + badReason : null;
            case Rejected rejected:
                if (model.Phase == LoginPhase.AwaitingLoginInfo)
                {
                    // Only the method choice ends a login here: after the answer, an error answer or the deadline.
                    return rejected.Code == RejectionCodes.NoLoginMethod && (!isText || IsMt(input.Frame, "LoginInfoResult") || IsLoginResultError(input.Frame))
                        ? BadText(rejected.Text, model) is { } badChoice ? "Rejected text " + badChoice : null
                        : $"Rejected {rejected.Code} while waiting for LoginInfoResult";
                }

                if (!isText || !IsLoginResultError(input.Frame) || rejected.Code < 0)
                {
                    return "Rejected without a LoginResult error";
                }

                return rejected.Text.Length > MaxReasonLength ? $"Rejected text of {rejected.Text.Length} characters (a hostile PBX fills the log)" : null;
            case Redirected redirected:
                if (redirected.Scheme != scheme)
                {
                    return $"Redirected changes the scheme {scheme} -> {redirected.Scheme}";
                }

                if (model.Phase == LoginPhase.AwaitingLoginInfo)
                {
                    return "Redirected before any Login";
                }

                if (model.Phase == LoginPhase.AwaitingResult && model.Method == "oauth2")
                {
                    return !model.VerifiesSignInRedirect(input) ? "Redirected after the sign-in from a frame whose digest verifies with no name of info"
                        : step.LearnedSession is null ? "Redirected after the sign-in without a session" : null;
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

        if (step.SignIn is { } signIn)
        {
            return model.OnSignIn(signIn, input);
        }

        if (step.Send.Count == 0)
        {
            // The deadline after the answer, or the answer after the deadline: nothing to do.
            return input.Kind == FuzzInputKind.LoginInfoDeadline ? (model.Phase == LoginPhase.AwaitingLoginInfo ? "the LoginInfo deadline passed without effect" : null)
                : isText && IsMt(input.Frame, "LoginInfoResult") && model.TakeLateLoginInfoResult() ? null
                : "neither final nor progressing (sends nothing, no Authorize, no sign-in)";
        }

        return step.Send.Count == 1 ? model.OnSent(step.Send[0], input.Frame) : $"sends {step.Send.Count} frames at once";
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

    private static bool IsMt(byte[] frame, string mt)
    {
        try
        {
            using var document = JsonDocument.Parse(frame);
            return document.RootElement.GetProperty("mt").GetString() == mt;
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
        AwaitingLoginInfo,
        AwaitingAuthenticate,
        AwaitingResult,
    }

    /// <summary>The test's own model of the login: what was sent, with which credentials, nonce and challenge.</summary>
    private sealed class LoginModel(bool useSession, bool hasPassword, bool singleSignOn)
    {
        private readonly List<string> _wireSecrets = [];
        private bool _loginInfoUnanswered;

        public string Type { get; private set; } = useSession ? "session" : "user";

        public string Method { get; private set; } = "digest";

        public LoginPhase Phase { get; private set; } = LoginPhase.AwaitingAuthenticate;

        public FuzzLoginContext Context { get; private set; } = new(useSession ? "session" : "user", useSession ? SessionId : User, useSession ? SessionPassword : Password, string.Empty, string.Empty, string.Empty);

        public IEnumerable<string> Secrets() => [Password, SessionId, SessionPassword, LoginFrames.SharedSecret, FrameGenerator.SignInSessionId, FrameGenerator.SignInSessionPassword, .. _wireSecrets];

        /// <summary>Checks a LoginInfo or Login the driver sent and moves the model on; returns what is wrong, or null.</summary>
        public string? OnSent(byte[] sent, byte[]? answered)
        {
            using var document = JsonDocument.Parse(sent);
            var root = document.RootElement;
            var mt = root.GetProperty("mt").GetString();
            if (mt == "LoginInfo")
            {
                // At the start of a user login, or after an expired session (error 5) when a user login is possible.
                if (answered is not null && !(Type == "session" && (hasPassword || singleSignOn)))
                {
                    return "LoginInfo sent when no user login is possible or due";
                }

                (Type, Method, Phase, _loginInfoUnanswered) = ("user", "digest", LoginPhase.AwaitingLoginInfo, true);
                Context = new FuzzLoginContext("user", User, Password, string.Empty, string.Empty, string.Empty);
                return root.EnumerateObject().Count() == 1 ? null : "LoginInfo with more than mt";
            }

            if (mt != "Login")
            {
                return "sent something other than LoginInfo or a Login";
            }

            var type = root.GetProperty("type").GetString()!;
            if (root.TryGetProperty("method", out var method) && method.GetString() == "oauth2")
            {
                if (Phase != LoginPhase.AwaitingLoginInfo || !singleSignOn || type != "user" || root.TryGetProperty("response", out _) || root.TryGetProperty("username", out _))
                {
                    return "an OAuth2 Login out of order or with credentials";
                }

                var nonce = root.GetProperty("nonce").GetString()!;
                if (nonce.Length != 16 || root.GetProperty("keyShare").GetString() != LoginFrames.ClientKeyShare)
                {
                    return "an OAuth2 Login without a 16-hex nonce and the client's key share";
                }

                _loginInfoUnanswered &= answered is { Length: 0 };
                _wireSecrets.Add(nonce);
                (Method, Phase) = ("oauth2", LoginPhase.AwaitingAuthenticate);
                Context = new FuzzLoginContext("user", "alice@fuzz.example.com", LoginFrames.SharedSecret, nonce, string.Empty, string.Empty, LoginFrames.PbxKeyShare);
                return null;
            }

            if (!root.TryGetProperty("response", out var response))
            {
                // The credential-less Login: a session login's start, or a password login once LoginInfo is dealt with.
                if (!(answered is null ? type == "session" : Phase == LoginPhase.AwaitingLoginInfo && hasPassword && type == "user"))
                {
                    return "a credential-less Login that is neither the session login's start nor the password login after LoginInfo";
                }

                _loginInfoUnanswered &= answered is { Length: 0 };
                (Type, Method, Phase) = (type, "digest", LoginPhase.AwaitingAuthenticate);
                Context = new FuzzLoginContext(type, type == "user" ? User : SessionId, type == "user" ? Password : SessionPassword, string.Empty, string.Empty, string.Empty);
                return null;
            }

            if (Phase != LoginPhase.AwaitingAuthenticate || Method != "digest" || answered is null)
            {
                return "digest Login sent out of order";
            }

            using var authenticate = JsonDocument.Parse(answered);
            var domain = authenticate.RootElement.GetProperty("domain").GetString()!;
            var challenge = authenticate.RootElement.GetProperty("challenge").GetString()!;
            var digestNonce = root.GetProperty("nonce").GetString()!;
            var expected = Sha256Hex(Encoding.UTF8.GetBytes($"innovaphoneAppClient:{Type}:{domain}:{Context.LoginName}:{Context.Password}:{digestNonce}:{challenge}"));
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
            Context = Context with { Nonce = digestNonce, Domain = domain, Challenge = challenge };
            return null;
        }

        /// <summary>Checks the sign-in page the driver reports for an Authenticate and moves the model on.</summary>
        public string? OnSignIn(MyAppsSignIn signIn, FuzzInput input)
        {
            if (Phase != LoginPhase.AwaitingAuthenticate || Method != "oauth2" || input.Kind != FuzzInputKind.Text)
            {
                return "a sign-in page out of order";
            }

            using var authenticate = JsonDocument.Parse(input.Frame);
            var root = authenticate.RootElement;
            if (root.GetProperty("method").GetString() != "oauth2" || signIn.Url.Scheme is not ("https" or "http") || !signIn.Url.IsAbsoluteUri)
            {
                return "a sign-in page from an Authenticate that is not for oauth2, or not an http(s) URL";
            }

            Phase = LoginPhase.AwaitingResult;
            Context = Context with { Domain = root.GetProperty("domain").GetString()!, Challenge = root.GetProperty("challenge").GetString()! };
            return null;
        }

        /// <summary>A LoginInfoResult after the deadline is ignored once.</summary>
        public bool TakeLateLoginInfoResult()
        {
            var late = _loginInfoUnanswered && Phase != LoginPhase.AwaitingLoginInfo;
            _loginInfoUnanswered = false;
            return late;
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

        /// <summary>
        /// Whether a Redirect after the sign-in verifies: its info carries the PBX's key share (so the secret is the
        /// model's) and its digest is the redirect digest with the secret and one of the names of info.
        /// </summary>
        public bool VerifiesSignInRedirect(FuzzInput input)
        {
            try
            {
                using var document = JsonDocument.Parse(input.Frame);
                var root = document.RootElement;
                var info = root.GetProperty("info");
                if (root.GetProperty("mt").GetString() != "Redirect" || info.ValueKind != JsonValueKind.Object || info.GetProperty("keyShare").GetString() != LoginFrames.PbxKeyShare)
                {
                    return false;
                }

                var user = info.TryGetProperty("user", out var u) && u.ValueKind == JsonValueKind.Object ? u : info;
                var digest = root.GetProperty("digest").GetString();
                var c = Context;
                return new[] { info, user }
                    .SelectMany(o => new[] { "sip", "email", "dn" }.Select(field => Name(o, field)))
                    .Any(name => name is { Length: > 0 } && string.Equals(digest, Sha256Hex([
                        .. Encoding.UTF8.GetBytes($"innovaphoneAppClient:redirect:{name}:{c.Password}:{c.Nonce}:{c.Challenge}:"),
                        .. JsonMarshal.GetRawUtf8Value(info)]), StringComparison.OrdinalIgnoreCase));
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
            {
                return false;
            }
        }

        public override string ToString() => $"type {Type}, method {Method}, {Phase}";

        private static string? Name(JsonElement obj, string field)
        {
            try
            {
                return obj.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            }
            catch (InvalidOperationException)
            {
                // An undecodable string is no name (the driver skips it too).
                return null;
            }
        }

        private static string Sha256Hex(byte[] data) => LowerHex.Of(SHA256.HashData(data));
    }
}
