namespace Innovaphone.Redundancy;

/// <summary>Topology facts a PBX gives on a successful login.</summary>
/// <param name="Standby">
/// <see langword="true"/>/<see langword="false"/> when the PBX says whether it acts as standby;
/// <see langword="null"/> when it does not say (the manager then infers it, see docs/protocol.md).
/// </param>
/// <param name="Alternative">The explicit standby PBX of the PBX that answered (<c>info.alt</c>), if any.</param>
/// <param name="Master">The master of the PBX that answered (<c>info.master</c>), present on a slave.</param>
public sealed record PbxLoginInfo(bool? Standby = null, PbxAddress? Alternative = null, PbxAddress? Master = null)
{
    /// <summary>A login that told nothing about the topology.</summary>
    public static PbxLoginInfo None { get; } = new();
}
