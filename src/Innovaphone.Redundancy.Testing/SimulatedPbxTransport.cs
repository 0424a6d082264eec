namespace Innovaphone.Redundancy.Testing;

/// <summary>
/// The in-memory <see cref="IPbxTransport"/> of one user: logs in with its session when it has one
/// (redirects, reconnects, failover), and otherwise with the password or, for a single sign-on user, by a sign-in at
/// the identity provider, as the real transport does.
/// </summary>
internal sealed class SimulatedPbxTransport : IPbxTransport
{
    private readonly SimulatedPbxSystem _system;
    private readonly string _user;
    private readonly string? _password;
    private readonly Func<PbxAddress, CancellationToken, ValueTask>? _signIn;
    private SimulatedSession? _session;

    internal SimulatedPbxTransport(
        SimulatedPbxSystem system, string user, string? password, SimulatedSession? session, Func<PbxAddress, CancellationToken, ValueTask>? signIn)
    {
        _system = system;
        _user = user;
        _password = password;
        _session = session;
        _signIn = signIn;
    }

    public async ValueTask<LoginOutcome> ConnectAsync(PbxLoginRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var unreachable = await _system.AwaitAnswerAsync(request.Pbx, _user, cancellationToken).ConfigureAwait(false);
        if (unreachable is not null)
        {
            return new AttemptFailed(AttemptFailureKind.Unreachable, unreachable);
        }

        var session = Volatile.Read(ref _session);
        if (session is not null)
        {
            var bySession = _system.DecideLogin(
                request.Pbx, request.Scheme, SimulatedCredentialKind.Session, session.Id, secret => secret == session.Password);
            if (bySession.Outcome is not Rejected { Code: SimulatedPbxSystem.SessionExpiredError })
            {
                return bySession.Outcome;
            }

            // A dead session is never tried again; without a password or a sign-in there is nothing else to log in with.
            Interlocked.CompareExchange(ref _session, null, session);
            if (_password is null && _signIn is null)
            {
                return bySession.Outcome;
            }
        }

        SimulatedLoginDecision decision;
        if (_password is { } password)
        {
            decision = _system.DecideLogin(request.Pbx, request.Scheme, SimulatedCredentialKind.User, _user, secret => secret == password);
        }
        else if (_signIn is { } signIn)
        {
            // The PBX refuses an OAuth2 Login it does not accept before it shows a sign-in page.
            if (_system.RefuseMethod(request.Pbx, SimulatedCredentialKind.SignIn) is { } refused)
            {
                return refused;
            }

            request.Progress?.Report(PbxLoginProgress.AwaitingSignIn);
            await signIn(request.Pbx, cancellationToken).ConfigureAwait(false);
            decision = _system.DecideLogin(request.Pbx, request.Scheme, SimulatedCredentialKind.SignIn, _user, _ => true);
        }
        else
        {
            return new Rejected(SimulatedPbxSystem.SessionExpiredError, "session expired and no user credentials are known");
        }

        if (decision.NewSession is { } issued)
        {
            Volatile.Write(ref _session, issued);
        }

        return decision.Outcome;
    }
}
