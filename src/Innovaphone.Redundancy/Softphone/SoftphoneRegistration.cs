namespace Innovaphone.Redundancy.Softphone;

/// <summary>
/// One decision of <see cref="SoftphoneRegistrar"/>: where the softphone should register now, and with which
/// physical location. Immutable; a new one is published for every change.
/// </summary>
public sealed record SoftphoneRegistration
{
    internal SoftphoneRegistration(
        SoftphoneRegistrationPlan plan,
        SoftphoneRegistrationStatus status,
        PbxAddress? target,
        int redirectHops,
        int failures,
        string reason)
    {
        Plan = plan;
        Status = status;
        Target = target;
        RedirectHops = redirectHops;
        Failures = failures;
        Reason = reason;
    }

    /// <summary>The plan made from the latest connInfo.</summary>
    public SoftphoneRegistrationPlan Plan { get; }

    /// <summary>Where the registration stands.</summary>
    public SoftphoneRegistrationStatus Status { get; }

    /// <summary>
    /// The PBX to register to next (<see cref="SoftphoneRegistrationStatus.Registering"/>,
    /// <see cref="SoftphoneRegistrationStatus.Redirected"/>) or registered at; null while <see cref="SoftphoneRegistrationStatus.Idle"/>.
    /// </summary>
    public PbxAddress? Target { get; }

    /// <summary>The physical location to register with (from <see cref="Plan"/>).</summary>
    public SoftphonePhysicalLocation PhysicalLocation => Plan.PhysicalLocation;

    /// <summary>Redirects followed in the current registration flow.</summary>
    public int RedirectHops { get; }

    /// <summary>
    /// Registration flows that failed in a row since the last registration or plan change; a softphone may use it
    /// to back off between rounds.
    /// </summary>
    public int Failures { get; }

    /// <summary>Why this decision was made, for logs and displays.</summary>
    public string Reason { get; }

    /// <summary>Describes the decision, for example <c>Registering at pri/PBX0 (physical location none): connInfo changed</c>.</summary>
    public override string ToString() => Target is null
        ? $"{Status} (physical location {PhysicalLocation}): {Reason}"
        : $"{Status} at {Target} (physical location {PhysicalLocation}): {Reason}";
}
