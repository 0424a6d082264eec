using System.Globalization;
using System.Security.Cryptography;

namespace Innovaphone.Redundancy.Transport.WebSockets;

/// <summary>
/// The myApps login as a pure state machine (PROTOCOL.md "Login", "OAuth2 / SSO"): frames in, frames to send and an
/// outcome out. No I/O, clock or logging; the nonce and key-pair sources are injected, and the shell reports the one
/// deadline the driver needs (<see cref="OnLoginInfoTimeout"/>). One instance per socket; dispose it when the login ends
/// (it holds the ephemeral private key of an OAuth2 sign-in until the answer).
/// </summary>
internal sealed class LoginDriver : IDisposable
{
    /// <summary>
    /// How long a user login waits for the answer to LoginInfo before it logs in by digest: PBX releases before 13r3
    /// do not know LoginInfo and may leave it unanswered. A PBX that knows it answers within a round trip.
    /// </summary>
    internal static readonly TimeSpan LoginInfoTimeout = TimeSpan.FromSeconds(2);

    /// <summary>The longest PBX errorText kept in a <see cref="Rejected"/>; longer ones are cut.</summary>
    internal const int MaxErrorTextLength = 200;

    private const string Digest = "digest";
    private const string OAuth2 = "oauth2";

    private readonly PbxAddress _pbx;
    private readonly PbxScheme _scheme;
    private readonly string _username;
    private readonly string? _password;
    private readonly bool _allowSingleSignOn;
    private readonly string _userAgent;
    private readonly RandomBytesFiller _random;
    private readonly Func<ECDiffieHellman> _newKeyPair;

    private MyAppsSession? _session;
    private Phase _phase = Phase.NotStarted;
    private string _type = LoginTypes.User;
    private string _method = Digest;
    private string _loginName = string.Empty;
    private string _loginPassword = string.Empty;
    private string _nonce = string.Empty;
    private string _domain = string.Empty;
    private string _challenge = string.Empty;
    private string? _providerName;
    private bool _loginInfoUnanswered;
    private ECDiffieHellman? _keyPair;

    /// <param name="pbx">The PBX of this socket.</param>
    /// <param name="scheme">The socket's scheme (redirects keep it).</param>
    /// <param name="username">The user's SIP name for a digest user login (may be empty when only single sign-on is possible).</param>
    /// <param name="password">The user's password, or <see langword="null"/>.</param>
    /// <param name="session">The session to log in with, or <see langword="null"/>.</param>
    /// <param name="userAgent">The Login <c>userAgent</c>.</param>
    /// <param name="random">The nonce source.</param>
    /// <param name="allowSingleSignOn">Whether a user login may sign in by OAuth2 when the PBX offers it and no password login fits.</param>
    /// <param name="newKeyPair">The ECDHE key-pair source for a sign-in; <see langword="null"/> = <see cref="MyAppsCrypto.NewKeyPair"/>.</param>
    public LoginDriver(
        PbxAddress pbx,
        PbxScheme scheme,
        string username,
        string? password,
        MyAppsSession? session,
        string userAgent,
        RandomBytesFiller random,
        bool allowSingleSignOn = false,
        Func<ECDiffieHellman>? newKeyPair = null)
    {
        _pbx = pbx;
        _scheme = scheme;
        _username = username;
        _password = password;
        _session = session;
        _userAgent = userAgent;
        _random = random;
        _allowSingleSignOn = allowSingleSignOn;
        _newKeyPair = newKeyPair ?? MyAppsCrypto.NewKeyPair;
    }

    private enum Phase
    {
        NotStarted,
        AwaitingLoginInfo,
        AwaitingAuthenticate,
        AwaitingResult,
        Done,
    }

    /// <summary>Whether the login currently uses the session (type <c>session</c>) rather than the user's credentials.</summary>
    public bool UsesSession => _type == LoginTypes.Session;

    /// <summary>
    /// Starts: the credential-less Login with the session when one is known; otherwise LoginInfo, which tells the
    /// methods for the user login.
    /// </summary>
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

        var step = frame.Mt switch
        {
            "LoginInfoResult" => OnLoginInfoResult(frame, utf8),
            "Authenticate" => OnAuthenticate(frame),
            "Authorize" => OnAuthorize(frame),
            "LoginResult" => OnLoginResult(frame),
            "Redirect" => OnRedirect(frame),
            _ => Fail(AttemptFailureKind.ProtocolError, $"unexpected message '{Truncate(frame.Mt)}' during login"),
        };
        if (step.IsFinal)
        {
            ReleaseKeyPair();
        }

        return step;
    }

    /// <summary>
    /// <see cref="LoginInfoTimeout"/> passed after LoginInfo without any frame: the PBX predates LoginInfo; log in by
    /// digest when a password is configured. Changes nothing when the answer came meanwhile.
    /// </summary>
    public LoginStep OnLoginInfoTimeout()
    {
        EnsureRunning();
        return _phase == Phase.AwaitingLoginInfo ? ChooseMethod(null) : LoginStep.None;
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

    /// <summary>Releases the ephemeral key pair of a sign-in still waiting for its answer.</summary>
    public void Dispose() => ReleaseKeyPair();

    private LoginStep BeginLogin()
    {
        if (_session is not null)
        {
            // The failover path: no LoginInfo round trip before a session login.
            _type = LoginTypes.Session;
            _method = Digest;
            _loginName = _session.Id;
            _loginPassword = _session.Password;
            _phase = Phase.AwaitingAuthenticate;
            return new LoginStep { Send = [MyAppsMessages.Login(_type, _userAgent)] };
        }

        if (_password is null && !_allowSingleSignOn)
        {
            _phase = Phase.Done;
            return new LoginStep { Outcome = new Rejected(RejectionCodes.NoCredentials, "no session, no password and single sign-on not allowed: cannot log in") };
        }

        _type = LoginTypes.User;
        _phase = Phase.AwaitingLoginInfo;
        _loginInfoUnanswered = true;
        return new LoginStep { Send = [MyAppsMessages.LoginInfo()], AwaitsLoginInfo = true };
    }

    private LoginStep OnLoginInfoResult(MyAppsFrame frame, ReadOnlyMemory<byte> utf8)
    {
        if (_phase != Phase.AwaitingLoginInfo)
        {
            if (_loginInfoUnanswered)
            {
                // The answer came after the deadline; the digest login is already under way.
                _loginInfoUnanswered = false;
                return LoginStep.None;
            }

            return Fail(AttemptFailureKind.ProtocolError, "LoginInfoResult without a LoginInfo");
        }

        _loginInfoUnanswered = false;

        // An error answer (or one without the user methods) is a PBX that does not know LoginInfo: as if unanswered.
        return ChooseMethod(frame.Error is null && MyAppsLoginInfo.TryReadLoginMethods(utf8, out var offer) ? offer : null);
    }

    /// <summary>The user login's method: digest with a password, else OAuth2 when allowed and offered, else a rejection.</summary>
    /// <param name="offer">What LoginInfoResult says, or <see langword="null"/> when the PBX did not say (then digest is tried).</param>
    private LoginStep ChooseMethod(LoginMethods? offer)
    {
        if (_password is not null && (offer is null || offer.Value.UserDigest))
        {
            _method = Digest;
            _loginName = _username;
            _loginPassword = _password;
            _phase = Phase.AwaitingAuthenticate;
            return new LoginStep { Send = [MyAppsMessages.Login(_type, _userAgent)] };
        }

        if (_allowSingleSignOn && offer is { UserOAuth2: true } methods)
        {
            return BeginSignIn(methods.OAuth2Name);
        }

        var configured = (_password is not null, _allowSingleSignOn) switch
        {
            (true, true) => "a password and single sign-on",
            (true, false) => "a password (single sign-on is off: AllowSingleSignOn)",
            _ => "single sign-on only (no password)",
        };
        _phase = Phase.Done;
        return new LoginStep { Outcome = new Rejected(RejectionCodes.NoLoginMethod, $"no login method fits: the PBX {DescribeOffer(offer)}; configured: {configured}") };
    }

    private LoginStep BeginSignIn(string? providerName)
    {
        // A fresh ephemeral key pair and nonce for this sign-in: the shared secret replaces the password that neither
        // the PBX nor the client knows (innovaphone SDK, "User authentication with the oauth2 method").
        _method = OAuth2;
        _providerName = providerName is null ? null : Truncate(providerName);
        _keyPair = _newKeyPair();
        _nonce = MyAppsCrypto.NewNonce(_random);
        _phase = Phase.AwaitingAuthenticate;
        return new LoginStep { Send = [MyAppsMessages.LoginOAuth2(_nonce, MyAppsCrypto.KeyShare(_keyPair), _userAgent)] };
    }

    private static string DescribeOffer(LoginMethods? offer)
    {
        if (offer is not { } o)
        {
            return "did not say which login methods it offers (no LoginInfoResult: a release before 13r3?)";
        }

        var user = new List<string>();
        if (o.UserDigest)
        {
            user.Add("digest (password)");
        }

        if (o.UserOAuth2)
        {
            user.Add(o.OAuth2Name is null ? "oauth2 (single sign-on)" : $"oauth2 (single sign-on, '{Truncate(o.OAuth2Name)}')");
        }

        if (o.UserNtlm)
        {
            user.Add("ntlm (not implemented)");
        }

        var text = user.Count == 0 ? "offers no user login method" : "offers user login by " + string.Join(", ", user);
        return text + (o.SessionDigest ? ", session login by digest" : ", no session login");
    }

    private LoginStep OnAuthenticate(MyAppsFrame frame)
    {
        if (_phase != Phase.AwaitingAuthenticate)
        {
            return Fail(AttemptFailureKind.ProtocolError, _phase == Phase.AwaitingLoginInfo
                ? "Authenticate before any Login"
                : "Authenticate out of order (credentials already sent)");
        }

        if (!string.Equals(frame.Method, _method, StringComparison.Ordinal))
        {
            return Fail(AttemptFailureKind.ProtocolError, $"Authenticate asks for method '{Truncate(frame.Method ?? "(none)")}' where the Login offered '{_method}'");
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
        if (_method == OAuth2)
        {
            // The user signs in at the identity provider; the answer comes on this socket when that is done.
            if (!Uri.TryCreate(frame.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
            {
                return Fail(AttemptFailureKind.ProtocolError, "Authenticate for oauth2 without an absolute http(s) url");
            }

            _phase = Phase.AwaitingResult;
            return new LoginStep { SignIn = new MyAppsSignIn(_pbx, url) { ProviderName = _providerName } };
        }

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

        if (_method == OAuth2)
        {
            return OnSignInResult(frame, rawInfo);
        }

        var expected = MyAppsCrypto.LoginResultDigest(_domain, _loginName, _loginPassword, _nonce, _challenge, rawInfo.Span);
        if (!MyAppsCrypto.DigestMatches(expected, frame.Digest))
        {
            return Fail(AttemptFailureKind.ForgedDigest, frame.Digest is null
                ? "LoginResult without digest: the answer is not from a PBX that knows the credentials"
                : "LoginResult digest does not verify: the answer is not from a PBX that knows the credentials");
        }

        var notes = new List<string>();
        if (!MyAppsLoginInfo.TryRead(rawInfo, _scheme, notes, out var info, out var sessionUsr, out var sessionPwd, out var user))
        {
            return Fail(AttemptFailureKind.ProtocolError, "LoginResult info is not a JSON object");
        }

        MyAppsSession? learned = null;
        if (sessionUsr is not null && sessionPwd is not null)
        {
            // PROTOCOL.md: keys innovaphoneAppClient:usr|pwd:<nonce>:<password>. ASSUMPTION (session logins): when a
            // session login returns a new info.session, <password> is the password of that login, the session password.
            learned = DecryptSession(sessionUsr, sessionPwd, _loginPassword);
            if (learned is null)
            {
                notes.Add("info.session could not be decrypted; keeping the previous session");
            }
        }
        else if (sessionUsr is not null || sessionPwd is not null)
        {
            notes.Add("info.session lacks usr or pwd; ignored");
        }

        _phase = Phase.Done;
        return new LoginStep { LoggedIn = info, User = user, LearnedSession = learned, Notes = notes };
    }

    /// <summary>
    /// The LoginResult after an OAuth2 sign-in: the session is encrypted with the ECDHE shared secret. Its digest is checked
    /// with the shared secret in place of the password and each user name in info; innovaphone's client does not check it,
    /// and its formula for a LoginResult is not published, so a digest that matches no name does not fail the login (the
    /// TLS connection vouches for it, docs/protocol.md) but is reported.
    /// </summary>
    private LoginStep OnSignInResult(MyAppsFrame frame, ReadOnlyMemory<byte> rawInfo)
    {
        var notes = new List<string>();
        if (!MyAppsLoginInfo.TryRead(rawInfo, _scheme, notes, out var info, out var sessionUsr, out var sessionPwd, out var user)
            || !MyAppsLoginInfo.TryReadSignIn(rawInfo, out var keyShare, out var names, out _, out _))
        {
            return Fail(AttemptFailureKind.ProtocolError, "LoginResult info is not a JSON object");
        }

        if (SharedSecret(keyShare) is not { } secret)
        {
            return Fail(AttemptFailureKind.ProtocolError, "LoginResult after the sign-in without a usable info.keyShare (a P-256 point as 128 hex characters)");
        }

        var verified = names.Exists(name => MyAppsCrypto.DigestMatches(
            MyAppsCrypto.LoginResultDigest(_domain, name, secret, _nonce, _challenge, rawInfo.Span), frame.Digest));
        if (DecryptSession(sessionUsr, sessionPwd, secret) is not { } session)
        {
            // Without a session every later login (each failover) would need the user at the browser again.
            return Fail(AttemptFailureKind.ProtocolError, "LoginResult after the sign-in carries no info.session that decrypts");
        }

        _phase = Phase.Done;
        return new LoginStep { LoggedIn = info, User = user, LearnedSession = session, SignInVerified = verified, Notes = notes };
    }

    private LoginStep OnLoginError(int error, string? errorText)
    {
        if (_phase == Phase.AwaitingLoginInfo)
        {
            // A PBX that does not know LoginInfo may answer it with an error: log in as if it had not answered.
            _loginInfoUnanswered = false;
            return ChooseMethod(null);
        }

        if (error < 0)
        {
            // Negative codes are the client's own (RejectionCodes): a PBX's must not pass for one.
            return Fail(AttemptFailureKind.ProtocolError, string.Create(CultureInfo.InvariantCulture, $"LoginResult with the negative error code {error}"));
        }

        // The errorText is the PBX's (unauthenticated) text and ends up in a log line: bound it like frame text in reasons.
        var text = errorText is null ? string.Empty : Truncate(errorText, MaxErrorTextLength);
        var sessionExpired = error == RejectionCodes.SessionExpired && _type == LoginTypes.Session;
        if (_phase == Phase.AwaitingAuthenticate && !sessionExpired)
        {
            // An error to the first Login, which carries no credentials: a verdict on nothing of ours. The PBX takes no
            // logins now (as innovaphone's own client reads it); the round goes on with the next PBX (R9). Session
            // expired is the exception: it speaks of the session the Login named, handled below.
            return Fail(AttemptFailureKind.Refused, string.Create(
                CultureInfo.InvariantCulture, $"the PBX refused the login before any credentials were sent: {text} (error {error})"));
        }

        if (sessionExpired)
        {
            _session = null;
            if (_password is not null || _allowSingleSignOn)
            {
                // ASSUMPTION: the user login runs on the same socket (as the public go-myapps client does); PROTOCOL.md
                // says "log in again", not where. A session never follows, so this happens once per driver: one sign-in
                // at most.
                var restart = BeginLogin();
                return restart with
                {
                    SessionDropped = true,
                    Notes = ["the session expired (error 5); logging in again as the user"],
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

        if (_phase == Phase.AwaitingLoginInfo)
        {
            return Fail(AttemptFailureKind.ProtocolError, "Redirect before any Login");
        }

        var notes = new List<string>();
        MyAppsSession? learned = null;
        if (_phase == Phase.AwaitingAuthenticate)
        {
            // PROTOCOL.md: innovaphone's client follows a Redirect that answers the credential-less Login. It cannot
            // carry a digest we could check; the safeguard is that Redirected always keeps this connection's scheme
            // (no downgrade) and the manager's hop limit and loop detection.
            notes.Add("following a Redirect that answered the credential-less Login; it carries no verifiable digest");
        }
        else if (_method == OAuth2)
        {
            // After a sign-in: the user lives elsewhere. The Redirect carries the session, so that the login there needs
            // no second sign-in; it must verify (with the shared secret and a user name of info, as innovaphone's client
            // checks it), or the session and target would be anybody's.
            if (!MyAppsLoginInfo.TryReadSignIn(rawInfo, out var keyShare, out var names, out var sessionUsr, out var sessionPwd)
                || SharedSecret(keyShare) is not { } secret)
            {
                return Fail(AttemptFailureKind.ProtocolError, "Redirect after the sign-in without a usable info.keyShare (a P-256 point as 128 hex characters)");
            }

            if (!names.Exists(name => MyAppsCrypto.DigestMatches(MyAppsCrypto.RedirectDigest(name, secret, _nonce, _challenge, rawInfo.Span), frame.Digest)))
            {
                return Fail(AttemptFailureKind.ForgedDigest, frame.Digest is null
                    ? "Redirect after the sign-in without digest: the answer is not from the PBX of the key exchange"
                    : "Redirect after the sign-in: the digest verifies with no user name in info");
            }

            learned = DecryptSession(sessionUsr, sessionPwd, secret);
            if (learned is null)
            {
                return Fail(AttemptFailureKind.ProtocolError, "Redirect after the sign-in carries no info.session that decrypts: the target would ask for a second sign-in");
            }
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
        return new LoginStep { Outcome = new Redirected(target, _scheme), LearnedSession = learned, Notes = notes };
    }

    /// <summary>The ECDHE shared secret (hex) with the PBX's key share, or <see langword="null"/>; the key pair is released either way.</summary>
    private string? SharedSecret(string? peerKeyShare)
    {
        var secret = _keyPair is null ? null : MyAppsCrypto.SharedSecret(_keyPair, peerKeyShare);
        ReleaseKeyPair();
        return secret;
    }

    /// <summary>Decrypts <c>info.session</c> with <paramref name="password"/> (the login's password or the shared secret).</summary>
    private MyAppsSession? DecryptSession(string? usr, string? pwd, string password)
    {
        if (usr is null || pwd is null)
        {
            return null;
        }

        var id = MyAppsCrypto.DecryptSessionPart("usr", _nonce, password, usr);
        var sessionPassword = MyAppsCrypto.DecryptSessionPart("pwd", _nonce, password, pwd);
        return !string.IsNullOrEmpty(id) && sessionPassword is not null ? new MyAppsSession(id, sessionPassword) : null;
    }

    private void ReleaseKeyPair()
    {
        // Disposing frees (and clears) the private key; the shared secret is derived once and not kept.
        _keyPair?.Dispose();
        _keyPair = null;
    }

    private LoginStep Fail(AttemptFailureKind kind, string reason)
    {
        _phase = Phase.Done;
        ReleaseKeyPair();
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
