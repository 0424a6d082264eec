namespace Innovaphone.Redundancy.Softphone;

/// <summary>Where the softphone runs; the host decides how the softphone chooses the PBX it registers to.</summary>
public enum SoftphoneHostKind
{
    /// <summary>
    /// A launcher-style host (the myApps launcher): the softphone solves redundancy itself. It registers to the
    /// primary and the secondary PBX alternately and follows redirects until it reaches the user's PBX (or a PBX
    /// keeps it as standby).
    /// </summary>
    Launcher = 0,

    /// <summary>
    /// A browser-style host: the softphone is loaded from the PBX the client is connected to and always registers
    /// there (connInfo <c>cur</c>); the client solves redundancy.
    /// </summary>
    Browser = 1,
}
