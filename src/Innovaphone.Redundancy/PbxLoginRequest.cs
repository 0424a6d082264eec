namespace Innovaphone.Redundancy;

/// <summary>One login attempt at one PBX.</summary>
/// <param name="Pbx">The PBX to connect to.</param>
/// <param name="Scheme">The scheme to connect with.</param>
/// <param name="AttemptId">The manager's id of this attempt (for logs and traces).</param>
public sealed record PbxLoginRequest(PbxAddress Pbx, PbxScheme Scheme, long AttemptId)
{
    /// <summary>
    /// Where the transport reports how far the attempt has come (<see cref="PbxLoginProgress"/>); called on the
    /// transport's thread, must return at once, may be called more than once. A transport that reports nothing still
    /// works: its attempts count as silent until they end. Default: <see langword="null"/> (nobody listens).
    /// </summary>
    public IProgress<PbxLoginProgress>? Progress { get; init; }
}
