namespace Innovaphone.Redundancy.Testing;

/// <summary>
/// The user login methods one simulated PBX accepts, as an administrator configures them, and what it answers to
/// <c>LoginInfo</c>. Set with <see cref="SimulatedPbxSystem.SetLoginMethods"/>; configure with <c>with</c> expressions.
/// Session logins (type <c>session</c>, digest) are always accepted.
/// </summary>
public sealed record SimulatedLoginMethods
{
    /// <summary>What a PBX accepts unless told otherwise: user digest (password) logins; no OAuth2.</summary>
    public static SimulatedLoginMethods Default { get; } = new();

    /// <summary>A PBX that signs users in only at the identity provider (OAuth2); no passwords.</summary>
    public static SimulatedLoginMethods SingleSignOnOnly { get; } = new() { UserDigest = false, OAuth2 = true };

    /// <summary>
    /// Accepts user logins with a password (<c>method:"digest"</c>). Default: <see langword="true"/>. Without it, a
    /// digest user Login gets the Authenticate as usual, then <see cref="SimulatedPbxSystem.LoginMethodDisabledError"/>
    /// whatever the credentials.
    /// </summary>
    public bool UserDigest { get; init; } = true;

    /// <summary>
    /// Signs users in at an identity provider (<c>method:"oauth2"</c>): the emulator's sign-in page, or the sign-in
    /// callback of <see cref="SimulatedPbxSystem.CreateSignInTransport"/>. Default: <see langword="false"/>; an OAuth2
    /// Login then gets <see cref="SimulatedPbxSystem.LoginMethodDisabledError"/>.
    /// </summary>
    public bool OAuth2 { get; init; }

    /// <summary>
    /// The name of the identity provider a client shows on its sign-in button (<c>user.oauth2Name</c> of
    /// <c>LoginInfoResult</c>, for example <c>Windows</c>); <see langword="null"/> (the default) leaves it out.
    /// Not empty or white space when set.
    /// </summary>
    public string? OAuth2Name { get; init; }

    /// <summary>
    /// Answers <c>{"mt":"LoginInfo"}</c> with <c>LoginInfoResult</c>. Default: <see langword="true"/>.
    /// <see langword="false"/> emulates firmware before 13r3, which does not know the message and sends nothing back,
    /// so that a test can check a client's fallback. Only the emulator has this message; the in-memory transports
    /// do not ask.
    /// </summary>
    public bool AnswersLoginInfo { get; init; } = true;

    /// <summary>Throws when a value is out of range; called by <see cref="SimulatedPbxSystem.SetLoginMethods"/>.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    internal void Validate()
    {
        if (OAuth2Name is not null && string.IsNullOrWhiteSpace(OAuth2Name))
        {
            throw new ArgumentException($"SimulatedLoginMethods.{nameof(OAuth2Name)} must not be empty or white space when set.", nameof(OAuth2Name));
        }
    }
}
