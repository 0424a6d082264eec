namespace Innovaphone.Redundancy.Testing;

/// <summary>The system, part three: what tests do to the installation (failures, partitions, slow or hanging PBXes, logouts, expired sessions, moved users, PBXes that reject, send no standby flag or accept other login methods).</summary>
public sealed partial class SimulatedPbxSystem
{
    /// <summary>
    /// Kills <paramref name="pbx"/>: its live connections end with <see cref="ConnectionLossKind.Closed"/>
    /// and it refuses logins (and registrations of other PBXes) until <see cref="Revive"/>.
    /// </summary>
    public void Kill(SimulatedPbx pbx) => Change(pbx, null, (p, _, s) =>
    {
        p.Alive = false;
        TakeDown(p, "PBX killed", s);
    });

    /// <summary>Brings a killed PBX back; standby logins waiting for it get StandbyBack.</summary>
    public void Revive(SimulatedPbx pbx) => Change(pbx, null, (p, _, _) => p.Alive = true);

    /// <summary>
    /// Cuts the client off from <paramref name="pbx"/>: its live connections end with
    /// <see cref="ConnectionLossKind.Closed"/> and logins there fail as unreachable until <see cref="HealClient"/>.
    /// The PBX itself keeps running and keeps its registrations.
    /// </summary>
    public void PartitionClient(SimulatedPbx pbx) => Change(pbx, null, (p, _, s) =>
    {
        p.ClientPartitioned = true;
        TakeDown(p, "network partition between client and PBX", s);
    });

    /// <summary>Lets the client reach <paramref name="pbx"/> again.</summary>
    public void HealClient(SimulatedPbx pbx) => Change(pbx, null, (p, _, _) => p.ClientPartitioned = false);

    /// <summary>
    /// Breaks the registration between two PBXes: neither redirects to the other, and logins that would have
    /// been redirected are kept as standby. Live connections stay up.
    /// </summary>
    public void Partition(SimulatedPbx first, SimulatedPbx second) => Change(first, second, (a, b, _) =>
    {
        a.PartitionedFrom.Add(b!);
        b!.PartitionedFrom.Add(a);
    });

    /// <summary>Restores the registration between two PBXes; standby logins waiting for it get StandbyBack.</summary>
    public void Heal(SimulatedPbx first, SimulatedPbx second) => Change(first, second, (a, b, _) =>
    {
        a.PartitionedFrom.Remove(b!);
        b!.PartitionedFrom.Remove(a);
    });

    /// <summary>
    /// Makes <paramref name="pbx"/> wait <paramref name="delay"/> (on the system's clock) before it answers a
    /// login; <see cref="TimeSpan.Zero"/> (the default) answers at once.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative.</exception>
    public void SetLoginDelay(SimulatedPbx pbx, TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        Change(pbx, null, (p, _, _) => p.LoginDelay = delay);
    }

    /// <summary>
    /// Makes <paramref name="pbx"/> accept connections but never answer a login (<see langword="true"/>), until
    /// the client cancels or the PBX goes down; <see langword="false"/> (the default) answers normally.
    /// </summary>
    public void SetHanging(SimulatedPbx pbx, bool hanging) => Change(pbx, null, (p, _, _) => p.Hanging = hanging);

    /// <summary>
    /// Ends <paramref name="user"/>'s sessions: live connections end with <see cref="ConnectionLossKind.LoggedOut"/>
    /// (the PBX sent LogoutResult) and session logins fail with <see cref="SessionExpiredError"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The user does not exist.</exception>
    public void Logout(string user)
    {
        ArgumentNullException.ThrowIfNull(user);
        var signals = new Signals();
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var u = GetUser(user);
            DropSessions(u);
            EndWhere(c => c.User == u, new ConnectionLoss(ConnectionLossKind.LoggedOut, "session logged out (LogoutResult)"), signals);
        }

        signals.Fire();
    }

    /// <summary>Lets <paramref name="user"/>'s sessions expire: the next session login fails with <see cref="SessionExpiredError"/>. Live connections stay up.</summary>
    /// <exception cref="ArgumentException">The user does not exist.</exception>
    public void ExpireSessions(string user)
    {
        ArgumentNullException.ThrowIfNull(user);
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            DropSessions(GetUser(user));
        }
    }

    /// <summary>
    /// Lets <paramref name="user"/>'s present sessions expire at <paramref name="pbx"/> only, as at a standby that does
    /// not know them: session logins there fail with <see cref="SessionExpiredError"/>, the other PBXes still accept them.
    /// Sessions issued later are known everywhere. Live connections stay up.
    /// </summary>
    /// <exception cref="ArgumentException">The user does not exist, or <paramref name="pbx"/> is not of this system.</exception>
    public void ExpireSessions(string user, SimulatedPbx pbx)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(pbx);
        CheckMember(pbx, nameof(pbx));
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var u = GetUser(user);
            foreach (var session in _sessions.Values.Where(s => s.User == u))
            {
                session.ExpiredAt.Add(pbx);
            }
        }
    }

    /// <summary>
    /// Moves <paramref name="user"/> to another PBX, as an administrator does: from now on logins are redirected there,
    /// and the old PBX redirects the user too. Live connections stay up.
    /// </summary>
    /// <exception cref="ArgumentException">The user does not exist, or <paramref name="home"/> is not of this system.</exception>
    public void MoveUser(string user, SimulatedPbx home)
    {
        ArgumentNullException.ThrowIfNull(user);
        CheckMember(home, nameof(home));
        lock (Gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            GetUser(user).Home = home;
        }
    }

    /// <summary>
    /// Whether a successful login says whether the PBX acts as standby (<see cref="PbxLoginInfo.Standby"/>, the
    /// <c>standby</c> flag of the LoginResult info). Default: <see langword="true"/>. Real PBXes may leave the flag out
    /// (docs/protocol.md names it an assumption); <see langword="false"/> leaves it out of every login, so that the
    /// client's standby inference (R4) decides. The topology hints (<c>alt</c>, <c>master</c>) are sent either way.
    /// </summary>
    public bool SendsStandbyFlag
    {
        get
        {
            lock (Gate)
            {
                return _sendsStandbyFlag;
            }
        }

        set
        {
            lock (Gate)
            {
                _sendsStandbyFlag = value;
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="pbx"/> reject every login with <see cref="LoginFailedError"/>, whatever the credentials (or
    /// stop doing so), as a PBX does that does not know the user, for example a standby that has not yet received it.
    /// </summary>
    public void SetRejectingLogins(SimulatedPbx pbx, bool rejecting) => Change(pbx, null, (p, _, _) => p.RejectsLogins = rejecting);

    /// <summary>Sets the login methods of <paramref name="pbx"/>; see <see cref="SimulatedLoginMethods"/>. Live connections stay up.</summary>
    /// <exception cref="ArgumentException"><paramref name="pbx"/> is not of this system, or a value of <paramref name="methods"/> is out of range.</exception>
    public void SetLoginMethods(SimulatedPbx pbx, SimulatedLoginMethods methods)
    {
        ArgumentNullException.ThrowIfNull(methods);
        methods.Validate();
        Change(pbx, null, (p, _, _) => p.LoginMethodsUnsafe = methods);
    }
}
