using System.Globalization;

namespace Innovaphone.Redundancy.Transport.WebSockets;

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
