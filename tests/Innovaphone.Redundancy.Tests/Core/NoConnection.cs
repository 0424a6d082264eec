using Innovaphone.Redundancy.Transport;

namespace Innovaphone.Redundancy.Tests.Core;

/// <summary>A connection for machine tests, which never touch it: the machine only passes it through.</summary>
internal sealed class NoConnection(PbxAddress pbx) : IPbxConnection
{
    public PbxAddress Pbx { get; } = pbx;

    public Task<ConnectionLoss> Lost { get; } = new TaskCompletionSource<ConnectionLoss>().Task;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
