namespace Innovaphone.Redundancy.Testing;

/// <summary>
/// A live login on a simulated PBX. The in-memory transport hands it to the manager as is; the loopback
/// emulator keeps it as the registration behind a socket and turns <see cref="Lost"/> into frames or a close.
/// </summary>
internal sealed class SimulatedConnection : IPbxConnection
{
    private readonly SimulatedPbxSystem _system;
    private readonly TaskCompletionSource<ConnectionLoss> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal SimulatedConnection(SimulatedPbxSystem system, SimulatedPbx host, SimulatedUser user, bool standby)
    {
        _system = system;
        Host = host;
        User = user;
        IsStandby = standby;
    }

    public PbxAddress Pbx => Host.Address;

    public Task<ConnectionLoss> Lost => _lost.Task;

    internal SimulatedPbx Host { get; }

    internal SimulatedUser User { get; }

    internal bool IsStandby { get; }

    public ValueTask DisposeAsync()
    {
        _system.CloseByClient(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>Completes <see cref="Lost"/>; the first reason wins. Call without holding the system's gate.</summary>
    internal void End(ConnectionLoss loss) => _lost.TrySetResult(loss);
}
