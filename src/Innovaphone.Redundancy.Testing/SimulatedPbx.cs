namespace Innovaphone.Redundancy.Testing;

/// <summary>
/// One PBX of a <see cref="SimulatedPbxSystem"/>. Create it with <see cref="SimulatedPbxSystem.AddMaster"/>,
/// <see cref="SimulatedPbxSystem.AddSlave"/> or <see cref="SimulatedPbxSystem.AddStandby"/>; inject faults
/// through the system (<see cref="SimulatedPbxSystem.Kill"/>, <see cref="SimulatedPbxSystem.Partition"/>, ...).
/// </summary>
public sealed class SimulatedPbx
{
    private readonly SimulatedPbxSystem _system;

    internal SimulatedPbx(SimulatedPbxSystem system, PbxAddress address, SimulatedPbxRole role, SimulatedPbx? master, SimulatedPbx? standsInFor)
    {
        _system = system;
        Address = address;
        Role = role;
        Master = master;
        StandsInFor = standsInFor;
    }

    /// <summary>The address clients connect to, for example <c>master.example.com/PBX0</c>.</summary>
    public PbxAddress Address { get; }

    /// <summary>Master, slave or explicit standby PBX.</summary>
    public SimulatedPbxRole Role { get; }

    /// <summary>The master of a slave (reported to clients as <c>info.master</c>); <see langword="null"/> otherwise.</summary>
    public SimulatedPbx? Master { get; }

    /// <summary>The PBX an explicit standby PBX stands in for; <see langword="null"/> otherwise.</summary>
    public SimulatedPbx? StandsInFor { get; }

    /// <summary>
    /// The explicit standby of this PBX (reported to clients as <c>info.alt</c>): a standby PBX added for it,
    /// or the PBX given to <see cref="SetAlternative"/>; <see langword="null"/> when there is none.
    /// </summary>
    public SimulatedPbx? Alternative
    {
        get
        {
            lock (_system.Gate)
            {
                return AlternativeUnsafe;
            }
        }
    }

    /// <summary><see langword="true"/> unless the PBX was killed and not revived.</summary>
    public bool IsAlive
    {
        get
        {
            lock (_system.Gate)
            {
                return Alive;
            }
        }
    }

    /// <summary>
    /// The login methods the PBX accepts and what it answers to <c>LoginInfo</c>; <see cref="SimulatedLoginMethods.Default"/>
    /// until <see cref="SimulatedPbxSystem.SetLoginMethods"/> changes it.
    /// </summary>
    public SimulatedLoginMethods LoginMethods
    {
        get
        {
            lock (_system.Gate)
            {
                return LoginMethodsUnsafe;
            }
        }
    }

    // Mutable state, guarded by the system's gate.
    internal SimulatedPbx? AlternativeUnsafe { get; set; }

    internal SimulatedLoginMethods LoginMethodsUnsafe { get; set; } = SimulatedLoginMethods.Default;

    internal bool Alive { get; set; } = true;

    internal bool ClientPartitioned { get; set; }

    internal bool Hanging { get; set; }

    internal bool RejectsLogins { get; set; }

    internal TimeSpan LoginDelay { get; set; }

    internal HashSet<SimulatedPbx> PartitionedFrom { get; } = [];

    /// <summary>Completes when the PBX stops answering (kill, client partition, disposal); replaced afterwards.</summary>
    internal TaskCompletionSource Outage { get; set; } = NewOutage();

    /// <summary>
    /// Makes <paramref name="alternative"/> the explicit standby of this PBX, as when a slave is configured
    /// as standby for the master. It changes only what clients are told (<c>info.alt</c>), not the redirects.
    /// </summary>
    /// <exception cref="ArgumentException">The PBX is this one or belongs to another system.</exception>
    public void SetAlternative(SimulatedPbx alternative) => _system.SetAlternative(this, alternative);

    /// <summary>The address, <c>host[:port]/module</c>.</summary>
    public override string ToString() => Address.ToString();

    internal static TaskCompletionSource NewOutage() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal bool BelongsTo(SimulatedPbxSystem system) => ReferenceEquals(_system, system);
}
