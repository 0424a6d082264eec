using Microsoft.Extensions.Logging;

namespace Innovaphone.Redundancy.Softphone;

/// <summary>
/// Configures how connInfo becomes the softphone's registration behaviour. A sealed record: derive variants with
/// <c>with</c>. Validated by <see cref="SoftphoneRegistrar"/>'s constructor and by
/// <see cref="SoftphoneRegistrationPolicy.Plan"/>.
/// </summary>
public sealed record SoftphoneRegistrationOptions
{
    /// <summary>Where the softphone runs. Default: <see cref="SoftphoneHostKind.Launcher"/>.</summary>
    public SoftphoneHostKind HostKind { get; init; } = SoftphoneHostKind.Launcher;

    /// <summary>
    /// The installation's "No physical location" setting (PBX / Config / myApps / Softphone Registration); it must be
    /// the same on every PBX of the installation. Only a launcher-style host reads it: when it is off, a softphone
    /// without an explicit <c>phys</c> uses the primary PBX's location; when it is on, no physical location.
    /// Default: <see langword="false"/> (off).
    /// </summary>
    public bool NoPhysicalLocation { get; init; }

    /// <summary>
    /// The most redirects one registration flow follows before it counts as failed (a loop back to a PBX already
    /// visited in the flow fails it at once). Default: 5. Range: 0 to 32.
    /// </summary>
    public int MaxRedirectHops { get; init; } = 5;

    /// <summary>Where the registrar logs its decisions (event ids 400–403). Default: <see langword="null"/> (no logging).</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>Throws when a value is out of range.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(HostKind))
        {
            throw new ArgumentOutOfRangeException(nameof(HostKind), HostKind, "SoftphoneRegistrationOptions.HostKind is not a known host kind.");
        }

        if (MaxRedirectHops is < 0 or > 32)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRedirectHops), MaxRedirectHops, "SoftphoneRegistrationOptions.MaxRedirectHops must be between 0 and 32.");
        }
    }
}
