namespace Innovaphone.Redundancy.Testing.Emulation;

/// <summary>
/// A protocol fault a <see cref="PbxEmulator"/> PBX injects into its answers to logins, on top of the faults of the
/// <see cref="SimulatedPbxSystem"/> (kill, partition, slow, hanging), which the emulator serves as they are.
/// Set with <see cref="PbxEmulator.SetFault"/>.
/// </summary>
public enum EmulatedFault
{
    /// <summary>No fault: the PBX answers as the simulated system decides.</summary>
    None = 0,

    /// <summary>Answers the credential-less Login with a text frame that is not valid JSON instead of Authenticate.</summary>
    MalformedJson,

    /// <summary>Answers the credential-less Login with a binary frame (myApps uses text frames only).</summary>
    BinaryFrame,

    /// <summary>
    /// Answers the credential-less Login with one text frame of <see cref="PbxEmulatorOptions.OversizedFrameBytes"/>
    /// bytes, larger than a client should accept.
    /// </summary>
    OversizedFrame,

    /// <summary>
    /// Signs a successful LoginResult or a Redirect with a digest over a wrong secret, as a man in the middle that does
    /// not know the credentials would. The simulated system still sees the login as it decided it.
    /// </summary>
    ForgedDigest,

    /// <summary>
    /// A Redirect offers only <c>info.http</c> (the plain-text port), no <c>info.https</c>: a scheme downgrade when the
    /// emulator serves TLS. With plain <c>ws://</c> this is how every Redirect looks anyway.
    /// </summary>
    RedirectDowngrade,
}
