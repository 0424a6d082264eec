namespace Innovaphone.Redundancy;

/// <summary>What a PBX answered to a login attempt.</summary>
public abstract record LoginOutcome
{
    private protected LoginOutcome()
    {
    }
}
