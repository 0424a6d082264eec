namespace Innovaphone.Redundancy.Softphone;

/// <summary>
/// What connInfo means for the softphone's registration at one moment: the PBXes to register to, in order, and
/// the physical location to register with. Made by <see cref="SoftphoneRegistrationPolicy.Plan"/>.
/// </summary>
/// <remarks>Two plans are equal when their targets (in order) and physical locations are equal.</remarks>
public sealed record SoftphoneRegistrationPlan
{
    internal SoftphoneRegistrationPlan(IEnumerable<PbxAddress> targets, SoftphonePhysicalLocation physicalLocation)
    {
        Targets = [.. targets];
        PhysicalLocation = physicalLocation;
    }

    /// <summary>A plan with nothing to register to and no physical location.</summary>
    public static SoftphoneRegistrationPlan Empty { get; } = new([], SoftphonePhysicalLocation.None);

    /// <summary>
    /// The PBXes to register to, in the order they are tried: in a launcher-style host the primary, then the
    /// secondary if there is one (tried alternately); in a browser-style host the current PBX while the client is up.
    /// Empty when the softphone should not register now.
    /// </summary>
    public IReadOnlyList<PbxAddress> Targets { get; }

    /// <summary>The physical location to register with.</summary>
    public SoftphonePhysicalLocation PhysicalLocation { get; }

    /// <summary>Whether the softphone should register now: <see langword="true"/> when there is a target.</summary>
    public bool ShouldRegister => Targets.Count > 0;

    /// <inheritdoc/>
    public bool Equals(SoftphoneRegistrationPlan? other) =>
        other is not null && PhysicalLocation.Equals(other.PhysicalLocation) && Targets.SequenceEqual(other.Targets);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(PhysicalLocation);
        foreach (var target in Targets)
        {
            hash.Add(target);
        }

        return hash.ToHashCode();
    }

    /// <summary>Describes the plan, for example <c>register to [pri/PBX0, sec/PBX0], physical location none</c>.</summary>
    public override string ToString() => ShouldRegister
        ? $"register to [{string.Join(", ", Targets)}], physical location {PhysicalLocation}"
        : $"do not register, physical location {PhysicalLocation}";
}
