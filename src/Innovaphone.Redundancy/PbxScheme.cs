namespace Innovaphone.Redundancy;

/// <summary>The WebSocket scheme of a connection. A redirect may never change it.</summary>
public enum PbxScheme
{
    /// <summary>TLS (<c>wss://</c>), the default.</summary>
    Wss = 0,

    /// <summary>Plain text (<c>ws://</c>); only when the host opts in (loopback tests, emulators).</summary>
    Ws = 1,
}
