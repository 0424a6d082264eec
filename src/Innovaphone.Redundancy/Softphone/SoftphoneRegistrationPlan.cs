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

/// <summary>
/// The softphone redundancy rules as a pure function of connInfo and the host's settings; no state, no time.
/// <see cref="SoftphoneRegistrar"/> applies it to every connInfo and adds what needs state (alternation, redirects).
/// </summary>
public static class SoftphoneRegistrationPolicy
{
    /// <summary>Turns connInfo into the registration plan.</summary>
    /// <param name="info">The connInfo the client published.</param>
    /// <param name="options">The host kind and the "No physical location" setting.</param>
    /// <returns>
    /// Targets: launcher-style host: <c>pri</c>, then <c>sec</c> when it is known and differs from <c>pri</c>
    /// (whether or not the client is up: the softphone solves redundancy itself); browser-style host: <c>cur</c>
    /// while <c>up</c>, none otherwise. Physical location: the explicit <c>phys</c> if set, in both hosts; otherwise,
    /// in a launcher-style host, the primary PBX's location unless <see cref="SoftphoneRegistrationOptions.NoPhysicalLocation"/>
    /// is on; otherwise none.
    /// </returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public static SoftphoneRegistrationPlan Plan(ConnInfo info, SoftphoneRegistrationOptions options)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options.HostKind == SoftphoneHostKind.Browser
            ? new SoftphoneRegistrationPlan(BrowserTargets(info), BrowserLocation(info))
            : new SoftphoneRegistrationPlan(LauncherTargets(info), LauncherLocation(info, options.NoPhysicalLocation));
    }

    private static IEnumerable<PbxAddress> LauncherTargets(ConnInfo info)
    {
        if (info.Pri is not null)
        {
            yield return info.Pri;
        }

        if (info.Sec is not null && info.Sec != info.Pri)
        {
            yield return info.Sec;
        }
    }

    private static IEnumerable<PbxAddress> BrowserTargets(ConnInfo info)
    {
        if (info.Up && info.Cur is not null)
        {
            yield return info.Cur;
        }
    }

    private static SoftphonePhysicalLocation LauncherLocation(ConnInfo info, bool noPhysicalLocation) =>
        HasExplicitPhys(info) ? SoftphonePhysicalLocation.Explicit(info.Phys!)
        : !noPhysicalLocation && info.Pri is not null ? SoftphonePhysicalLocation.OfPrimary(info.Pri)
        : SoftphonePhysicalLocation.None;

    private static SoftphonePhysicalLocation BrowserLocation(ConnInfo info) =>
        HasExplicitPhys(info) ? SoftphonePhysicalLocation.Explicit(info.Phys!) : SoftphonePhysicalLocation.None;

    private static bool HasExplicitPhys(ConnInfo info) => !string.IsNullOrWhiteSpace(info.Phys);
}
