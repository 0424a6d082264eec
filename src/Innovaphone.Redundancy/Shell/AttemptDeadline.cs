namespace Innovaphone.Redundancy.Shell;

/// <summary>
/// The one deadline of an attempt, on the manager's clock: <see cref="RedundancyOptions.AttemptTimeout"/> after the
/// transport call starts, unless the user takes over the attempt first. While the user signs in at the identity provider
/// or confirms a two-factor code (the transport reports <see cref="PbxLoginProgress.AwaitingSignIn"/> or
/// <see cref="PbxLoginProgress.AwaitingAuthorization"/>), no attempt timeout may cut them off:
/// <see cref="Suspend"/> stops the deadline for good, and the transport's own sign-in timeout bounds the wait. A transport
/// that ignores the cancellation is given up <c>grace</c> after the deadline (<see cref="Abandoned"/>).
/// </summary>
internal sealed class AttemptDeadline : IDisposable
{
    private readonly CancellationTokenSource _expiry;
    private readonly TaskCompletionSource _abandoned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ITimer _grace;
    private readonly object _gate = new();
    private bool _suspended;
    private bool _disposed;

    public AttemptDeadline(TimeSpan timeout, TimeSpan grace, TimeProvider time)
    {
        _expiry = new CancellationTokenSource(timeout, time);
        _grace = time.CreateTimer(static state => ((TaskCompletionSource)state!).TrySetResult(), _abandoned, timeout + grace, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Cancelled when the deadline passes (never once suspended).</summary>
    public CancellationToken Token => _expiry.Token;

    /// <summary>Whether the deadline passed.</summary>
    public bool Expired => _expiry.IsCancellationRequested;

    /// <summary>Completes a grace period after the deadline passed: the call is no longer waited for.</summary>
    public Task Abandoned => _abandoned.Task;

    /// <summary>
    /// The user is busy with this attempt: the deadline (and with it the grace) no longer applies. Returns whether this call
    /// suspended it (not when it had passed already, was suspended before, or the attempt is over). Safe from any thread,
    /// at any time.
    /// </summary>
    public bool Suspend()
    {
        lock (_gate)
        {
            if (_disposed || _suspended || _expiry.IsCancellationRequested)
            {
                return false;
            }

            _suspended = true;
            _expiry.CancelAfter(Timeout.InfiniteTimeSpan);
            if (!_expiry.IsCancellationRequested)
            {
                // Not when the deadline passed meanwhile: a call cancelled by it is still given up after the grace.
                _grace.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }

            return true;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _grace.Dispose();
            _expiry.Dispose();
        }
    }
}
