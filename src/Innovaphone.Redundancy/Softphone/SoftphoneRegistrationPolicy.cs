namespace Innovaphone.Redundancy.Softphone;

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
