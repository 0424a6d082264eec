namespace Innovaphone.Redundancy;

/// <summary>Why a live connection ended.</summary>
/// <param name="Kind">The kind of loss.</param>
/// <param name="Reason">A human-readable reason for logs.</param>
public sealed record ConnectionLoss(ConnectionLossKind Kind, string Reason);
