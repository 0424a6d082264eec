using System.Net.WebSockets;
using System.Text.Json;
using Innovaphone.Redundancy.Transport;
using Innovaphone.Redundancy.Transport.WebSockets;

namespace Innovaphone.Redundancy.Testing.Emulation;

/// <summary>The socket, part two: the myApps login as a PBX answers it (Authenticate, digests, Redirect, LoginResult, two-factor Authorize).</summary>
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
            await SendAsync(EmulatorMessages.LoginError(SimulatedPbxSystem.LoginFailedError, "unknown login type"));
            return true;
        }

        var method = GetString(login, "method");
        if (method is null)
        {
            return await OnCredentialLessLoginAsync(type);
        }

        var username = GetString(login, "username");
        var nonce = GetString(login, "nonce");
        var response = GetString(login, "response");
        var challenge = _challenge;

        // A challenge answers one Login: a replayed or second credential Login needs a new Authenticate.
        _challenge = null;
        if (method != "digest" || challenge is null || type != _pendingType
            || string.IsNullOrEmpty(username) || string.IsNullOrEmpty(nonce) || string.IsNullOrEmpty(response))
        {
            await SendAsync(EmulatorMessages.LoginError(SimulatedPbxSystem.LoginFailedError, "login failed: no digest Login answering an Authenticate"));
            return true;
        }

        // The PBX's login delay or hang, once per socket as the in-memory transport waits once per attempt.
        if (!_answered)
        {
            if (await _host.System.AwaitAnswerAsync(_pbx.Address, type == LoginTypes.User ? username : null, _token) is not null)
            {
                Abort();
                return false;
            }

            _answered = true;
        }

        var domain = Options.Domain;
        _host.Emulator.RecordDigest(response);
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

        var proof = new Proof(type, username, nonce, challenge, secret ?? string.Empty);
        switch (decision.Outcome)
        {
            case Rejected rejected:
                await SendAsync(EmulatorMessages.LoginError(rejected.Code, rejected.Text));
                return true;
            case Redirected redirected:
                return await AnswerRedirectAsync(_host.ForcedRedirect?.Address ?? redirected.Target, proof);
            case LoggedIn loggedIn:
                var connection = (SimulatedConnection)loggedIn.Connection;
                if (_host.ForcedRedirect is { } forced)
                {
                    await connection.DisposeAsync();
                    return await AnswerRedirectAsync(forced.Address, proof);
                }

                _connection = connection;
                _ = ForwardLossAsync(connection);
                return await AnswerLoggedInAsync(loggedIn.Info, decision.NewSession, proof);
            default:
                // Unreachable when it decided: it went down between the connect and the login.
                Abort();
                return false;
        }
    }

    private async Task<bool> OnCredentialLessLoginAsync(string type)
    {
        var garbage = _host.TakeFault(f => f is EmulatedFault.MalformedJson or EmulatedFault.BinaryFrame or EmulatedFault.OversizedFrame);
        switch (garbage)
        {
            case EmulatedFault.MalformedJson:
                await SendAsync(EmulatorMessages.Malformed());
                return true;
            case EmulatedFault.BinaryFrame:
                await SendAsync(EmulatorMessages.Authenticate(type, Options.Domain, NewChallenge()), WebSocketMessageType.Binary);
                return true;
            case EmulatedFault.OversizedFrame:
                await SendAsync(EmulatorMessages.Oversized(Options.OversizedFrameBytes));
                return true;
        }

        _pendingType = type;
        _challenge = NewChallenge();
        await SendAsync(EmulatorMessages.Authenticate(type, Options.Domain, _challenge));
        return true;
    }

    private async Task<bool> AnswerRedirectAsync(PbxAddress target, Proof proof)
    {
        if (!await AuthorizeAsync(proof))
        {
            return false;
        }

        var downgrade = _host.TakeFault(f => f == EmulatedFault.RedirectDowngrade) != EmulatedFault.None;
        var portField = downgrade || _host.Scheme == PbxScheme.Ws ? "http" : "https";
        var info = EmulatorMessages.RedirectInfo(target, portField);
        var digest = MyAppsCrypto.RedirectDigest(proof.Username, SignatureSecret(proof), proof.Nonce, proof.Challenge, info);
        _host.Emulator.RecordDigest(digest);
        await SendAsync(EmulatorMessages.Signed("Redirect", info, digest));

        // The client closes and follows the redirect; the socket ends with its close.
        return true;
    }

    private async Task<bool> AnswerLoggedInAsync(PbxLoginInfo info, SimulatedSession? session, Proof proof)
    {
        if (!await AuthorizeAsync(proof))
        {
            return false;
        }

        var parts = new PbxLoginInfoParts(session?.Id, session?.Password, info.Alternative, info.Master, info.Standby);
        var raw = EmulatorMessages.LoginInfo(parts, proof.Nonce, proof.Secret);
        var digest = MyAppsCrypto.LoginResultDigest(Options.Domain, proof.Username, SignatureSecret(proof), proof.Nonce, proof.Challenge, raw);
        _host.Emulator.RecordDigest(digest);
        await SendAsync(EmulatorMessages.Signed("LoginResult", raw, digest));
        return true;
    }

    /// <summary>
    /// Two-factor (user logins only): sends Authorize and waits for the confirmation. <see langword="false"/> when the
    /// PBX went down meanwhile: the socket is then reset, as a dead PBX answers nothing.
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

        await SendAsync(EmulatorMessages.Authorize(value));
        if (await Task.WhenAny(confirmed, outage).WaitAsync(_token) == outage)
        {
            Abort();
            return false;
        }

        return true;
    }
}
