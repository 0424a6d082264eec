namespace Innovaphone.Redundancy;

/// <summary>The kinds of connection loss that matter for redundancy.</summary>
public enum ConnectionLossKind
{
    /// <summary>The socket closed or failed, or the keepalive found the peer dead.</summary>
    Closed,

    /// <summary>The standby PBX said the user's PBX is back (StandbyBack) and closed.</summary>
    StandbyBack,

    /// <summary>The session ended (LogoutResult): no reconnect with that session.</summary>
    LoggedOut,

    /// <summary>This side closed the connection (stop, dispose).</summary>
    ClosedByClient,
}
