namespace Innovaphone.Redundancy.Testing.Emulation;

/// <summary>Configures a <see cref="PbxEmulator"/>. Configure with <c>with</c> expressions.</summary>
public sealed record PbxEmulatorOptions
{
    /// <summary>The default <see cref="Domain"/>: <c>emulated.example.com</c>.</summary>
    public const string DefaultDomain = "emulated.example.com";

    /// <summary>
    /// Serves <c>wss://</c> with a self-signed certificate made for the emulator (see <see cref="PbxEmulator.Certificate"/>)
    /// instead of plain <c>ws://</c>. Default: <see langword="false"/>.
    /// </summary>
    public bool UseTls { get; init; }

    /// <summary>The PBX domain sent in Authenticate and used in the digests. Default: <c>emulated.example.com</c>.</summary>
    public string Domain { get; init; } = DefaultDomain;

    /// <summary>The size in bytes of the frame sent for <see cref="EmulatedFault.OversizedFrame"/>. Default: 2 MiB.</summary>
    public int OversizedFrameBytes { get; init; } = 2 * 1024 * 1024;

    /// <summary>
    /// How long the emulator waits for the client's answer to a close it started (StandbyBack, LogoutResult,
    /// <see cref="PbxEmulator.CloseConnectionsAsync"/>) before it aborts the socket. Default: 2 s.
    /// </summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Throws when a value is out of range; called by the emulator's constructor.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Domain))
        {
            throw new ArgumentException($"PbxEmulatorOptions.{nameof(Domain)} must not be empty.", nameof(Domain));
        }

        if (OversizedFrameBytes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(OversizedFrameBytes), OversizedFrameBytes, $"PbxEmulatorOptions.{nameof(OversizedFrameBytes)} must be positive.");
        }

        if (CloseTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(CloseTimeout), CloseTimeout, $"PbxEmulatorOptions.{nameof(CloseTimeout)} must be positive.");
        }
    }
}
