using Innovaphone.Redundancy.Transport;

namespace Innovaphone.Redundancy.Testing;

/// <summary>
/// The in-memory <see cref="IPbxTransport"/> of one user: logs in with its session when it has one
/// (redirects, reconnects, failover), and with the password otherwise, as the real transport does.
/// </summary>
internal sealed class SimulatedPbxTransport : IPbxTransport
{
    private readonly SimulatedPbxSystem _system;
    private readonly string _user;
    private readonly string? _password;
    private SimulatedSession? _session;

    internal SimulatedPbxTransport(SimulatedPbxSystem system, string user, string? password, SimulatedSession? session)
    {
        _system = system;
        _user = user;
        _password = password;
        _session = session;
    }

    public async ValueTask<LoginOutcome> ConnectAsync(PbxLoginRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var unreachable = await _system.AwaitAnswerAsync(request.Pbx, _user, cancellationToken);
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

            // A dead session is never tried again; without a password there is nothing else to log in with.
            Interlocked.CompareExchange(ref _session, null, session);
            if (_password is null)
            {
                return bySession.Outcome;
            }
        }

        if (_password is null)
        {
            return new Rejected(SimulatedPbxSystem.SessionExpiredError, "session expired and no user credentials are known");
        }

        var password = _password;
        var byUser = _system.DecideLogin(
            request.Pbx, request.Scheme, SimulatedCredentialKind.User, _user, secret => secret == password);
        if (byUser.NewSession is { } issued)
        {
            Volatile.Write(ref _session, issued);
        }

        return byUser.Outcome;
    }
}
