namespace Innovaphone.Redundancy.Softphone;

/// <summary>
/// Wraps each subscriber so that an exception it throws is reported and swallowed: one faulty
/// subscriber must neither break the manager's loop nor stop delivery to the others.
/// </summary>
internal sealed class GuardedObservable<T>(IObservable<T> source, Action<Exception> onSubscriberError) : IObservable<T>
{
    public IDisposable Subscribe(IObserver<T> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        return source.Subscribe(new GuardedObserver(observer, onSubscriberError));
    }

    private sealed class GuardedObserver(IObserver<T> inner, Action<Exception> onError) : IObserver<T>
    {
#pragma warning disable CA1031 // Isolating subscriber faults is the point of this type.
        public void OnNext(T value)
        {
            try
            {
                inner.OnNext(value);
            }
            catch (Exception ex)
            {
                onError(ex);
            }
        }

        public void OnError(Exception error)
        {
            try
            {
                inner.OnError(error);
            }
            catch (Exception ex)
            {
                onError(ex);
            }
        }

        public void OnCompleted()
        {
            try
            {
                inner.OnCompleted();
            }
            catch (Exception ex)
            {
                onError(ex);
            }
        }
#pragma warning restore CA1031
    }
}
