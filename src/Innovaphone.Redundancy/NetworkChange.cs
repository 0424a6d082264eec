namespace Innovaphone.Redundancy;

/// <summary>
/// The network of this machine changed (an address came or went, a network became available or not): a connection
/// may now run over a path that no longer exists. See <see cref="RedundancyOptions.NetworkChanges"/>.
/// </summary>
/// <param name="IsAvailable">Whether a network is available after the change (the platform's view).</param>
public readonly record struct NetworkChange(bool IsAvailable);
