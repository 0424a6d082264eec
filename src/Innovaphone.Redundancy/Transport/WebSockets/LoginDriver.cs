using System.Globalization;
using System.Text.Json;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>What the driver tells the socket shell to do after one input.</summary>
internal sealed record LoginStep
{
    /// <summary>A step that changes nothing and sends nothing.</summary>
    public static LoginStep None { get; } = new();

    /// <summary>Frames to send, in order.</summary>
    public IReadOnlyList<byte[]> Send { get; init; } = [];

    /// <summary>The PBX asked for two-factor authorization with this code: call the host, wait with the authorize timeout.</summary>
    public int? AuthorizeCode { get; init; }

    /// <summary>The login ended without a connection: Redirected, Rejected or AttemptFailed.</summary>
    public LoginOutcome? Outcome { get; init; }

    /// <summary>The login succeeded with these topology facts; the shell makes the connection.</summary>
    public PbxLoginInfo? LoggedIn { get; init; }

    /// <summary>A new session to keep for later logins.</summary>
    public MyAppsSession? LearnedSession { get; init; }

    /// <summary>The session the login started with is dead (error 5): forget it.</summary>
    public bool SessionDropped { get; init; }

    /// <summary>Things worth a warning in the log (no secrets, no frame content beyond field names and addresses).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Whether the login is over.</summary>
    public bool IsFinal => Outcome is not null || LoggedIn is not null;
}

/// <summary>
/// The myApps login as a pure state machine (PROTOCOL.md "Login"): frames in, frames to send and an outcome out.
/// No I/O, clock or logging; the nonce source is injected. One instance per socket.
/// </summary>
internal sealed class LoginDriver
{
    /// <summary>The <see cref="Rejected.Code"/> used when no credentials are left to log in with (not a PBX code).</summary>
    internal const int NoCredentialsCode = -1;

    /// <summary>The PBX's LoginResult error for "session expired".</summary>
    internal const int SessionExpiredError = 5;

    /// <summary>The longest PBX errorText kept in a <see cref="Rejected"/>; longer ones are cut.</summary>
    internal const int MaxErrorTextLength = 200;

    private readonly PbxAddress _pbx;
    private readonly PbxScheme _scheme;
    private readonly string _username;
    private readonly string? _password;
    private readonly string _userAgent;
    private readonly RandomBytesFiller _random;

    private MyAppsSession? _session;
    private Phase _phase = Phase.NotStarted;
    private string _type = LoginTypes.User;
    private string _loginName = string.Empty;
    private string _loginPassword = string.Empty;
    private string _nonce = string.Empty;
    private string _domain = string.Empty;
    private string _challenge = string.Empty;

    public LoginDriver(PbxAddress pbx, PbxScheme scheme, string username, string? password, MyAppsSession? session, string userAgent, RandomBytesFiller random)
    {
        _pbx = pbx;
        _scheme = scheme;
        _username = username;
        _password = password;
        _session = session;
        _userAgent = userAgent;
        _random = random;
    }

    private enum Phase
    {
        NotStarted,
        AwaitingAuthenticate,
        AwaitingResult,
        Done,
    }

    /// <summary>Whether the login currently uses the session (type <c>session</c>) rather than the user's password.</summary>
    public bool UsesSession => _type == LoginTypes.Session;

    /// <summary>Starts: the credential-less Login (type session when a session is known, else user).</summary>
    public LoginStep Start()
    {
        if (_phase != Phase.NotStarted)
        {
            throw new InvalidOperationException("The login has already started.");
        }

        return BeginLogin();
    }

    /// <summary>One text frame from the PBX.</summary>
    public LoginStep OnText(ReadOnlyMemory<byte> utf8)
    {
        EnsureRunning();
        if (!MyAppsFrame.TryParse(utf8, out var frame, out var error))
        {
            return Fail(AttemptFailureKind.ProtocolError, "malformed frame during login: " + error);
        }

        return frame.Mt switch
        {
            "Authenticate" => OnAuthenticate(frame),
            "Authorize" => OnAuthorize(frame),
            "LoginResult" => OnLoginResult(frame),
            "Redirect" => OnRedirect(frame),
            _ => Fail(AttemptFailureKind.ProtocolError, $"unexpected message '{Truncate(frame.Mt)}' during login"),
        };
    }

    /// <summary>A binary frame: myApps uses text frames only.</summary>
    public LoginStep OnBinary()
    {
        EnsureRunning();
        return Fail(AttemptFailureKind.ProtocolError, "binary frame during login (myApps uses text frames)");
    }

    /// <summary>A frame larger than the configured maximum.</summary>
    public LoginStep OnTooLarge(int maxFrameBytes)
    {
        EnsureRunning();
        return Fail(AttemptFailureKind.ProtocolError, string.Create(CultureInfo.InvariantCulture, $"frame larger than {maxFrameBytes} bytes during login"));
    }

    /// <summary>The PBX closed the socket before the login ended.</summary>
    public LoginStep OnClosed(string description)
    {
        EnsureRunning();
        return Fail(AttemptFailureKind.Unreachable, "the PBX closed the connection during login: " + description);
    }

    private LoginStep BeginLogin()
    {
        if (_session is not null)
        {
            _type = LoginTypes.Session;
            _loginName = _session.Id;
            _loginPassword = _session.Password;
        }
        else if (_password is not null)
        {
            _type = LoginTypes.User;
            _loginName = _username;
            _loginPassword = _password;
        }
        else
        {
            _phase = Phase.Done;
            return new LoginStep { Outcome = new Rejected(NoCredentialsCode, "no session and no password: cannot log in") };
        }

        _phase = Phase.AwaitingAuthenticate;
        return new LoginStep { Send = [MyAppsMessages.Login(_type, _userAgent)] };
    }

    private LoginStep OnAuthenticate(MyAppsFrame frame)
    {
        if (_phase != Phase.AwaitingAuthenticate)
        {
            return Fail(AttemptFailureKind.ProtocolError, "Authenticate out of order (credentials already sent)");
        }

        if (!string.Equals(frame.Method, "digest", StringComparison.Ordinal))
        {
            return Fail(AttemptFailureKind.ProtocolError, $"unsupported login method '{Truncate(frame.Method ?? "(none)")}' (only digest is implemented)");
        }

        if (frame.Type is not null && !string.Equals(frame.Type, _type, StringComparison.Ordinal))
        {
            return Fail(AttemptFailureKind.ProtocolError, $"Authenticate for type '{Truncate(frame.Type)}' answers a Login of type '{_type}'");
        }

        if (frame.Domain is null || frame.Challenge is null)
        {
            return Fail(AttemptFailureKind.ProtocolError, "Authenticate without domain or challenge");
        }

        _domain = frame.Domain;
        _challenge = frame.Challenge;

        // Fresh for every credential Login, including the retry after a session expiry: a nonce is never reused.
        _nonce = MyAppsCrypto.NewNonce(_random);
        var response = MyAppsCrypto.LoginResponse(_type, _domain, _loginName, _loginPassword, _nonce, _challenge);
        _phase = Phase.AwaitingResult;
        return new LoginStep { Send = [MyAppsMessages.LoginDigest(_type, _loginName, _nonce, response, _userAgent)] };
    }

    private LoginStep OnAuthorize(MyAppsFrame frame)
    {
        if (_phase != Phase.AwaitingResult)
        {
            return Fail(AttemptFailureKind.ProtocolError, "Authorize before the credentials were sent");
        }

        if (frame.Code is not int code)
        {
            return Fail(AttemptFailureKind.ProtocolError, "Authorize without an integer code");
        }

        return new LoginStep { AuthorizeCode = code };
    }

    private LoginStep OnLoginResult(MyAppsFrame frame)
    {
        if (frame.Error is int error)
        {
            return OnLoginError(error, frame.ErrorText);
        }

        if (_phase != Phase.AwaitingResult)
        {
            // A success before our credentials cannot carry a digest we could check.
            return Fail(AttemptFailureKind.ProtocolError, "successful LoginResult before Authenticate");
        }

        if (frame.RawInfo is not ReadOnlyMemory<byte> rawInfo)
        {
            return Fail(AttemptFailureKind.ProtocolError, "LoginResult without info or error");
        }

        var expected = MyAppsCrypto.LoginResultDigest(_domain, _loginName, _loginPassword, _nonce, _challenge, rawInfo.Span);
        if (!MyAppsCrypto.DigestMatches(expected, frame.Digest))
        {
            return Fail(AttemptFailureKind.ForgedDigest, frame.Digest is null
                ? "LoginResult without digest: the answer is not from a PBX that knows the credentials"
                : "LoginResult digest does not verify: the answer is not from a PBX that knows the credentials");
        }

        var notes = new List<string>();
        if (!MyAppsLoginInfo.TryRead(rawInfo, _scheme, notes, out var info, out var sessionUsr, out var sessionPwd))
        {
            return Fail(AttemptFailureKind.ProtocolError, "LoginResult info is not a JSON object");
        }

        MyAppsSession? learned = null;
        if (sessionUsr is not null && sessionPwd is not null)
        {
            // PROTOCOL.md: keys innovaphoneAppClient:usr|pwd:<nonce>:<password>. ASSUMPTION (session logins): when a
            // session login returns a new info.session, <password> is the password of that login, the session password.
            var id = MyAppsCrypto.DecryptSessionPart("usr", _nonce, _loginPassword, sessionUsr);
            var password = MyAppsCrypto.DecryptSessionPart("pwd", _nonce, _loginPassword, sessionPwd);
            if (!string.IsNullOrEmpty(id) && password is not null)
            {
                learned = new MyAppsSession(id, password);
            }
            else
            {
                notes.Add("info.session could not be decrypted; keeping the previous session");
            }
        }
        else if (sessionUsr is not null || sessionPwd is not null)
        {
            notes.Add("info.session lacks usr or pwd; ignored");
        }

        _phase = Phase.Done;
        return new LoginStep { LoggedIn = info, LearnedSession = learned, Notes = notes };
    }

    private LoginStep OnLoginError(int error, string? errorText)
    {
        // The errorText is the PBX's (unauthenticated) text and ends up in a log line: bound it like frame text in reasons.
        var text = errorText is null ? string.Empty : Truncate(errorText, MaxErrorTextLength);
        if (_phase == Phase.AwaitingAuthenticate && !(error == SessionExpiredError && _type == LoginTypes.Session))
        {
            // An error to the first Login, which carries no credentials: a verdict on nothing of ours. The PBX takes no
            // logins now (as innovaphone's own client reads it); the round goes on with the next PBX (R9). Session
            // expired is the exception: it speaks of the session the Login named, handled below.
            return Fail(AttemptFailureKind.Refused, string.Create(
                CultureInfo.InvariantCulture, $"the PBX refused the login before any credentials were sent: {text} (error {error})"));
        }

        if (error == SessionExpiredError && _type == LoginTypes.Session)
        {
            _session = null;
            if (_password is not null)
            {
                // ASSUMPTION: the retry with type user runs on the same socket (as the public go-myapps client does);
                // PROTOCOL.md says "log in again", not where.
                var restart = BeginLogin();
                return restart with
                {
                    SessionDropped = true,
                    Notes = ["the session expired (error 5); logging in again with the user's password"],
                };
            }

            _phase = Phase.Done;
            return new LoginStep { SessionDropped = true, Outcome = new Rejected(error, text) };
        }

        _phase = Phase.Done;
        return new LoginStep { Outcome = new Rejected(error, text) };
    }

    private LoginStep OnRedirect(MyAppsFrame frame)
    {
        if (frame.RawInfo is not ReadOnlyMemory<byte> rawInfo)
        {
            return Fail(AttemptFailureKind.ProtocolError, "Redirect without info");
        }

        var notes = new List<string>();
        if (_phase == Phase.AwaitingAuthenticate)
        {
            // PROTOCOL.md: innovaphone's client follows a Redirect that answers the credential-less Login. It cannot
            // carry a digest we could check; the safeguard is that Redirected always keeps this connection's scheme
            // (no downgrade) and the manager's hop limit and loop detection.
            notes.Add("following a Redirect that answered the credential-less Login; it carries no verifiable digest");
        }
        else
        {
            var expected = MyAppsCrypto.RedirectDigest(_loginName, _loginPassword, _nonce, _challenge, rawInfo.Span);
            if (!MyAppsCrypto.DigestMatches(expected, frame.Digest))
            {
                return Fail(AttemptFailureKind.ForgedDigest, frame.Digest is null
                    ? "Redirect without digest: the answer is not from a PBX that knows the credentials"
                    : "Redirect digest does not verify: the answer is not from a PBX that knows the credentials");
            }
        }

        if (!MyAppsLoginInfo.TryResolveRedirectTarget(_pbx, _scheme, rawInfo, out var target, out var problem))
        {
            // The problem may quote info.host, which is the PBX's text (unverified before the credentials): bound it.
            return Fail(AttemptFailureKind.ProtocolError, "unusable Redirect: " + Truncate(problem, MaxErrorTextLength));
        }

        _phase = Phase.Done;
        return new LoginStep { Outcome = new Redirected(target, _scheme), Notes = notes };
    }

    private LoginStep Fail(AttemptFailureKind kind, string reason)
    {
        _phase = Phase.Done;
        return new LoginStep { Outcome = new AttemptFailed(kind, reason) };
    }

    private void EnsureRunning()
    {
        if (_phase is Phase.NotStarted or Phase.Done)
        {
            throw new InvalidOperationException(_phase == Phase.Done ? "The login is over." : "The login has not started.");
        }
    }

    /// <summary>Frame text in reasons is bounded: a hostile PBX must not fill the log.</summary>
    private static string Truncate(string text, int maxLength = 40) => text.Length <= maxLength ? text : text[..maxLength] + "...";

    private static class LoginTypes
    {
        public const string User = "user";
        public const string Session = "session";
    }
}

/// <summary>Reads the fields of a LoginResult's or Redirect's <c>info</c> that redundancy needs.</summary>
internal static class MyAppsLoginInfo
{
    /// <summary>
    /// Reads <c>alt</c>, <c>master</c>, <c>standby</c> and the encrypted <c>session</c> of a LoginResult info; the
    /// default port of <paramref name="scheme"/> is dropped from the hints.
    /// Unusable optional fields are ignored with a note; only a non-object info fails.
    /// </summary>
    public static bool TryRead(ReadOnlyMemory<byte> rawInfo, PbxScheme scheme, List<string> notes, out PbxLoginInfo info, out string? sessionUsr, out string? sessionPwd)
    {
        info = PbxLoginInfo.None;
        sessionUsr = null;
        sessionPwd = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(rawInfo);
        }
        catch (JsonException)
        {
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            var alternative = ReadAddress(root, "alt", scheme, notes);
            var master = ReadAddress(root, "master", scheme, notes);

            // ASSUMPTION (PROTOCOL.md "standby indication"): the PBX says it acts as standby with info.standby == true;
            // any non-boolean value counts as "not said" and leaves the decision to the manager's inference.
            bool? standby = null;
            if (root.TryGetProperty("standby", out var standbyElement))
            {
                if (standbyElement.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    standby = standbyElement.GetBoolean();
                }
                else
                {
                    notes.Add("info.standby is not a boolean; ignored");
                }
            }

            if (root.TryGetProperty("session", out var session) && session.ValueKind == JsonValueKind.Object)
            {
                sessionUsr = session.TryGetProperty("usr", out var usr) ? TextOrNull(usr) : null;
                sessionPwd = session.TryGetProperty("pwd", out var pwd) ? TextOrNull(pwd) : null;
            }

            info = new PbxLoginInfo(standby, alternative, master);
            return true;
        }
    }

    /// <summary>
    /// The PBX a Redirect points to (PROTOCOL.md): host from <c>info.host</c> (a <c>host:port</c> form is accepted),
    /// an IPv6 literal bracketed or bare (a bare one has no port: its last group cannot be told from a port),
    /// port from <c>info.https</c> (wss) or <c>info.http</c> (ws) else the current port, module from <c>info.mod</c>
    /// else the current module. The scheme never changes, so the port comes from the current scheme's field.
    /// </summary>
    public static bool TryResolveRedirectTarget(PbxAddress current, PbxScheme scheme, ReadOnlyMemory<byte> rawInfo, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PbxAddress? target, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? problem)
    {
        target = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(rawInfo);
        }
        catch (JsonException)
        {
            problem = "info is not valid JSON";
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            var hostText = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("host", out var hostElement) ? TextOrNull(hostElement) : null;
            if (string.IsNullOrWhiteSpace(hostText))
            {
                problem = "info.host is missing";
                return false;
            }

            if (!PbxAddress.TrySplitAuthority(hostText, out var host, out var port, out var error))
            {
                problem = "info.host is not a host name: " + error;
                return false;
            }

            // ASSUMPTION: a port given in info.host ("host:port") wins over info.https/info.http; innovaphone's client
            // never sees that form, emulators and tests use it.
            if (port is null)
            {
                var portField = scheme == PbxScheme.Wss ? "https" : "http";
                if (root.TryGetProperty(portField, out var portElement))
                {
                    if (!TryReadPort(portElement, out var fieldPort))
                    {
                        problem = $"info.{portField} is not a port";
                        return false;
                    }

                    port = fieldPort;
                }
                else
                {
                    port = current.Port;
                }
            }

            var module = current.Module;
            if (root.TryGetProperty("mod", out var modElement) && TextOrNull(modElement) is { Length: > 0 } mod)
            {
                module = mod;
            }

            // ASSUMPTION: the scheme's default port (443 for wss, 80 for ws) is left implicit, so that "host/PBX0" and a
            // redirect naming "host" with https 443 are the same PBX for the manager's loop detection.
            if ((scheme == PbxScheme.Wss && port == 443) || (scheme == PbxScheme.Ws && port == 80))
            {
                port = null;
            }

            try
            {
                target = new PbxAddress(host, module, port);
            }
            catch (ArgumentException)
            {
                problem = "info.mod is not a module name";
                return false;
            }

            problem = null;
            return true;
        }
    }

    private static bool TryReadPort(JsonElement element, out int port)
    {
        // ASSUMPTION: innovaphone writes ports as numbers; a numeric string is accepted too. 0 or out of range is not a port.
        port = 0;
        var ok = element.ValueKind switch
        {
            JsonValueKind.Number => element.TryGetInt32(out port),
            JsonValueKind.String => int.TryParse(TextOrNull(element), NumberStyles.None, CultureInfo.InvariantCulture, out port),
            _ => false,
        };
        return ok && port is >= 1 and <= 65535;
    }

    /// <summary>
    /// The string value, or <see langword="null"/> when the element is not a string or its text cannot be decoded (invalid
    /// UTF-8, an escaped lone surrogate): GetString throws InvalidOperationException for those, and a hostile frame must
    /// not turn into an exception out of the login.
    /// </summary>
    private static string? TextOrNull(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        try
        {
            return element.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static PbxAddress? ReadAddress(JsonElement root, string name, PbxScheme scheme, List<string> notes)
    {
        if (!root.TryGetProperty(name, out var element) || element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var text = TextOrNull(element);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (PbxAddress.TryParse(text, out var address))
        {
            // The scheme's default port left implicit, as for redirect targets: "host:443/PBX0" under wss is "host/PBX0".
            return address.WithoutDefaultPort(scheme);
        }

        // An unusable topology hint must not fail a verified login; the manager just knows less.
        notes.Add($"info.{name} is not a PBX address of the form host[:port]/module; ignored");
        return null;
    }
}
