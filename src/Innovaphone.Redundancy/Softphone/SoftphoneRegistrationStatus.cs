namespace Innovaphone.Redundancy.Softphone;

/// <summary>Where the softphone's registration stands, as <see cref="SoftphoneRegistrar"/> sees it.</summary>
public enum SoftphoneRegistrationStatus
{
    /// <summary>Nothing to register to (no connInfo yet, no PBX known, or a browser-style host while the client is down).</summary>
    Idle = 0,

    /// <summary>A registration flow should start, or has started, at <see cref="SoftphoneRegistration.Target"/>.</summary>
    Registering = 1,

    /// <summary>The flow was redirected: register to <see cref="SoftphoneRegistration.Target"/> next.</summary>
    Redirected = 2,

    /// <summary>Registered at <see cref="SoftphoneRegistration.Target"/>.</summary>
    Registered = 3,

    /// <summary>Registered at <see cref="SoftphoneRegistration.Target"/>, which keeps the registration as standby for the user's PBX.</summary>
    RegisteredStandby = 4,
}
