using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.Json;
using Innovaphone.Redundancy.Transport.WebSockets;

namespace Innovaphone.Redundancy.Testing.Emulation;

/// <summary>
/// The socket, part two: the myApps login as a PBX answers it (Authenticate, digests, OAuth2 sign-in, Redirect,
/// LoginResult, two-factor Authorize).
/// </summary>
internal sealed partial class EmulatedSocket
{
    private async Task<bool> OnLoginAsync(JsonElement login)
    {
        if (_connection is not null)
        {
            // Logged in already: a second Login on the same socket is ignored.
            return true;
        }

        var type = GetString(login, "type");
        if (type is not (LoginTypes.User or LoginTypes.Session))
        {
            await SendAsync(EmulatorMessages.LoginError(SimulatedPbxSystem.LoginFailedError, "unknown login type")).ConfigureAwait(false);
            return true;
        }

        // A new Login starts over: a challenge or a sign-in page answers one Login only, and a replayed or second
        // credential Login needs a new Authenticate.
        ForgetSignIn();
        var challenge = _challenge;
        _challenge = null;
        var method = GetString(login, "method");
        if (method is null)
        {
            return await OnCredentialLessLoginAsync(type).ConfigureAwait(false);
        }

        if (method == "oauth2")
        {
            return await OnOAuth2LoginAsync(type, login).ConfigureAwait(false);
        }

        var username = GetString(login, "username");
        var nonce = GetString(login, "nonce");
        var response = GetString(login, "response");
        if (method != "digest" || challenge is null || type != _pendingType
            || string.IsNullOrEmpty(username) || string.IsNullOrEmpty(nonce) || string.IsNullOrEmpty(response))
        {
            await SendAsync(EmulatorMessages.LoginError(SimulatedPbxSystem.LoginFailedError, "login failed: no digest Login answering an Authenticate")).ConfigureAwait(false);
            return true;
        }

        if (!await AwaitAnswerAsync(type == LoginTypes.User ? username : null).ConfigureAwait(false))
        {
            return false;
        }

        var domain = Options.Domain;
        _host.Emulator.RecordSecret(response);
        string? secret = null;
        var decision = _host.System.DecideLogin(
            _pbx.Address,
            _host.Scheme,
            type == LoginTypes.User ? SimulatedCredentialKind.User : SimulatedCredentialKind.Session,
            username,
            candidate =>
            {
                var expected = MyAppsCrypto.LoginResponse(type, domain, username, candidate, nonce, challenge);
                if (!MyAppsCrypto.DigestMatches(expected, response))
                {
                    return false;
                }

                secret = candidate;
                return true;
            });

        return await AnswerAsync(decision, new Proof(type, username, nonce, challenge, secret ?? string.Empty, KeyShare: null)).ConfigureAwait(false);
    }

    /// <summary>
    /// The PBX's login delay or hang, once per socket as the in-memory transport waits once per attempt.
    /// <see langword="false"/> when the PBX went down meanwhile: the socket is then reset.
    /// </summary>
    private async Task<bool> AwaitAnswerAsync(string? user)
    {
        if (!_answered)
        {
            if (await _host.System.AwaitAnswerAsync(_pbx.Address, user, _token).ConfigureAwait(false) is not null)
            {
                Abort();
                return false;
            }

            _answered = true;
        }

        return true;
    }

    private async Task<bool> OnCredentialLessLoginAsync(string type)
    {
        _pendingType = type;
        _challenge = NewChallenge();
        await SendAuthenticateAsync(EmulatorMessages.Authenticate(type, Options.Domain, _challenge)).ConfigureAwait(false);
        return true;
    }

    /// <summary>Sends an Authenticate, or the garbage a protocol fault puts in its place.</summary>
    private Task SendAuthenticateAsync(byte[] authenticate) =>
        _host.TakeFault(f => f is EmulatedFault.MalformedJson or EmulatedFault.BinaryFrame or EmulatedFault.OversizedFrame) switch
        {
            EmulatedFault.MalformedJson => SendAsync(EmulatorMessages.Malformed()),
            EmulatedFault.BinaryFrame => SendAsync(authenticate, WebSocketMessageType.Binary),
            EmulatedFault.OversizedFrame => SendAsync(EmulatorMessages.Oversized(Options.OversizedFrameBytes)),
            _ => SendAsync(authenticate),
        };

    /// <summary>
    /// <c>Login {type:"user", method:"oauth2", nonce, keyShare}</c>: a fresh ECDHE key pair of the PBX, then an
    /// Authenticate with the emulated identity provider's sign-in page. The answer follows once the page is opened
    /// (<see cref="PbxEmulator.SignInAs"/>), as the event <see cref="SignedIn"/>.
    /// </summary>
    private async Task<bool> OnOAuth2LoginAsync(string type, JsonElement login)
    {
        var nonce = GetString(login, "nonce");
        if (type != LoginTypes.User || string.IsNullOrEmpty(nonce))
        {
            await SendAsync(EmulatorMessages.LoginError(SimulatedPbxSystem.LoginFailedError, "invalid parameters: an oauth2 Login is of type user and has a nonce")).ConfigureAwait(false);
            return true;
        }

        string pbxKeyShare;
        string? secret;
        using (var keyPair = MyAppsCrypto.NewKeyPair())
        {
            pbxKeyShare = MyAppsCrypto.KeyShare(keyPair);
            secret = MyAppsCrypto.SharedSecret(keyPair, GetString(login, "keyShare"));
        }

        if (secret is null)
        {
            await SendAsync(EmulatorMessages.LoginError(SimulatedPbxSystem.LoginFailedError, "invalid parameters: keyShare is not a P-256 point")).ConfigureAwait(false);
            return true;
        }

        if (!await AwaitAnswerAsync(user: null).ConfigureAwait(false))
        {
            return false;
        }

        if (_host.System.RefuseMethod(_pbx.Address, SimulatedCredentialKind.SignIn) is { } refused)
        {
            await SendAsync(EmulatorMessages.LoginError(refused.Code, refused.Text)).ConfigureAwait(false);
            return true;
        }

        _host.Emulator.RecordSecret(secret);
        var challenge = NewChallenge();
        var token = MyAppsCrypto.ToLowerHex(RandomNumberGenerator.GetBytes(16));
        _host.Emulator.AddSignIn(token, user => _events.Writer.TryWrite(new SignedIn(token, user)));
        _signIn = new PendingSignIn(token, new Proof(LoginTypes.User, string.Empty, nonce, challenge, secret, pbxKeyShare));
        Task outage;
        lock (_host.System.Gate)
        {
            outage = _pbx.Outage.Task;
        }

        _ = ForwardOutageAsync(outage);
        await SendAuthenticateAsync(EmulatorMessages.AuthenticateOAuth2(Options.Domain, _host.SignInPage(token), challenge)).ConfigureAwait(false);
        _host.Emulator.SignInIfAutomatic(token);
        return true;
    }

    /// <summary>The identity provider signed <paramref name="signedIn"/>'s user in: the PBX answers the pending OAuth2 Login.</summary>
    private async Task<bool> OnSignedInAsync(SignedIn signedIn)
    {
        if (_signIn is not { } pending || pending.Token != signedIn.Token || _connection is not null)
        {
            return true;
        }

        _signIn = null;
        var decision = _host.System.DecideLogin(_pbx.Address, _host.Scheme, SimulatedCredentialKind.SignIn, signedIn.User, _ => true);
        return await AnswerAsync(decision, pending.Proof with { Username = signedIn.User }).ConfigureAwait(false);
    }

    private void ForgetSignIn()
    {
        if (_signIn is { } pending)
        {
            _signIn = null;
            _host.Emulator.RemoveSignIn(pending.Token);
        }
    }

    private async Task ForwardOutageAsync(Task outage)
    {
        if (await Task.WhenAny(outage, Completion).ConfigureAwait(false) == outage)
        {
            _events.Writer.TryWrite(PbxWentDown.Instance);
        }
    }

    private async Task<bool> AnswerAsync(SimulatedLoginDecision decision, Proof proof)
    {
        switch (decision.Outcome)
        {
            case Rejected rejected:
                await SendAsync(EmulatorMessages.LoginError(rejected.Code, rejected.Text)).ConfigureAwait(false);
                return true;
            case Redirected redirected:
                return await AnswerRedirectAsync(_host.ForcedRedirect?.Address ?? redirected.Target, proof, decision).ConfigureAwait(false);
            case LoggedIn loggedIn:
                var connection = (SimulatedConnection)loggedIn.Connection;
                if (_host.ForcedRedirect is { } forced)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    return await AnswerRedirectAsync(forced.Address, proof, decision).ConfigureAwait(false);
                }

                _connection = connection;
                _ = ForwardLossAsync(connection);
                return await AnswerLoggedInAsync(loggedIn.Info, decision, proof).ConfigureAwait(false);
            default:
                // Unreachable when it decided: it went down between the connect and the login.
                Abort();
                return false;
        }
    }

    private async Task<bool> AnswerRedirectAsync(PbxAddress target, Proof proof, SimulatedLoginDecision decision)
    {
        if (!await AuthorizeAsync(proof).ConfigureAwait(false))
        {
            return false;
        }

        var downgrade = _host.TakeFault(f => f == EmulatedFault.RedirectDowngrade) != EmulatedFault.None;
        var portField = downgrade || _host.Scheme == PbxScheme.Ws ? "http" : "https";
        var info = proof.KeyShare is { } keyShare && decision is { User: { } user, NewSession: { } session }
            ? EmulatorMessages.RedirectInfo(target, portField, (new InfoUser(user, Options.Domain), session, keyShare, proof.Nonce, proof.Secret))
            : EmulatorMessages.RedirectInfo(target, portField);

        // After a sign-in the client knows no user name: it checks the digest with the names in the info (sip first).
        var digest = MyAppsCrypto.RedirectDigest(proof.Username, SignatureSecret(proof), proof.Nonce, proof.Challenge, info);
        _host.Emulator.RecordSecret(digest);
        await SendAsync(EmulatorMessages.Signed("Redirect", info, digest)).ConfigureAwait(false);

        // The client closes and follows the redirect; the socket ends with its close.
        return true;
    }

    private async Task<bool> AnswerLoggedInAsync(PbxLoginInfo info, SimulatedLoginDecision decision, Proof proof)
    {
        if (!await AuthorizeAsync(proof).ConfigureAwait(false))
        {
            return false;
        }

        var user = new InfoUser(decision.User!, Options.Domain);
        var raw = EmulatorMessages.LoginInfo(user, decision.NewSession, proof.KeyShare, info, proof.Nonce, proof.Secret);

        // ASSUMPTION (docs/protocol.md): after a sign-in the PBX signs with the user's SIP name and the shared secret;
        // innovaphone's client does not check this digest, having no user name beforehand.
        var digest = MyAppsCrypto.LoginResultDigest(Options.Domain, proof.Username, SignatureSecret(proof), proof.Nonce, proof.Challenge, raw);
        _host.Emulator.RecordSecret(digest);
        await SendAsync(EmulatorMessages.Signed("LoginResult", raw, digest)).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Two-factor (user logins and sign-ins only): sends Authorize and waits for the confirmation. <see langword="false"/>
    /// when the PBX went down meanwhile: the socket is then reset, as a dead PBX answers nothing.
    /// </summary>
    private async Task<bool> AuthorizeAsync(Proof proof)
    {
        var (code, confirmed) = _host.TwoFactor();
        if (code is not int value || proof.Type != LoginTypes.User)
        {
            return true;
        }

        Task outage;
        lock (_host.System.Gate)
        {
            outage = _pbx.Outage.Task;
        }

        await SendAsync(EmulatorMessages.Authorize(value)).ConfigureAwait(false);
        if (await Task.WhenAny(confirmed, outage).WaitAsync(_token).ConfigureAwait(false) == outage)
        {
            Abort();
            return false;
        }

        return true;
    }

    /// <summary>An OAuth2 Login waiting for its sign-in: the page's token and what the answer will be signed with.</summary>
    private sealed record PendingSignIn(string Token, Proof Proof);

    /// <summary>The identity provider signed <paramref name="User"/> in at the sign-in page <paramref name="Token"/>.</summary>
    private sealed record SignedIn(string Token, string User);

    /// <summary>The PBX went down while a sign-in was pending.</summary>
    private sealed class PbxWentDown
    {
        public static PbxWentDown Instance { get; } = new();
    }
}
