namespace Innovaphone.Redundancy;

/// <summary>A live, logged-in connection to one PBX.</summary>
/// <remarks>Disposing closes the connection; it must not throw and must finish promptly.</remarks>
public interface IPbxConnection : IAsyncDisposable
{
    /// <summary>The PBX this connection is logged in to.</summary>
    PbxAddress Pbx { get; }

    /// <summary>Completes once when the connection ends, with why. Never faults.</summary>
    Task<ConnectionLoss> Lost { get; }
}
