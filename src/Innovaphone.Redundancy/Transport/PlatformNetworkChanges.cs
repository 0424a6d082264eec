using System.Net.NetworkInformation;
using System.Reactive.Disposables;

namespace Innovaphone.Redundancy.Transport;

/// <summary>
/// The platform's network changes (<see cref="System.Net.NetworkInformation.NetworkChange"/>: address and availability
/// changes), one notification per burst: a change of network raises several events within milliseconds (addresses,
/// routes, link), and each would otherwise verify every connection again. Listens to the platform only while someone
/// subscribes; one instance serves every manager of the process.
/// </summary>
internal sealed class PlatformNetworkChanges : IObservable<NetworkChange>
{
    /// <summary>How long the platform must be quiet before a burst of events is reported.</summary>
    internal static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(250);

    private readonly TimeProvider _time;
    private readonly Func<Action, IDisposable> _listen;
    private readonly Func<bool> _isAvailable;
    private readonly object _gate = new();
    private readonly List<IObserver<NetworkChange>> _observers = [];
    private IDisposable? _listening;
    private ITimer? _timer;

    internal PlatformNetworkChanges(TimeProvider time, Func<Action, IDisposable> listen, Func<bool> isAvailable)
    {
        _time = time;
        _listen = listen;
        _isAvailable = isAvailable;
    }

    /// <summary>The process's instance, on the system clock.</summary>
    public static PlatformNetworkChanges Instance { get; } = new(TimeProvider.System, ListenToPlatform, NetworkInterface.GetIsNetworkAvailable);

    public IDisposable Subscribe(IObserver<NetworkChange> observer)
    {
        lock (_gate)
        {
            _observers.Add(observer);
            _listening ??= _listen(OnPlatformEvent);
        }

        return new Subscription(this, observer);
    }

    private static IDisposable ListenToPlatform(Action onEvent)
    {
        NetworkAddressChangedEventHandler address = (_, _) => onEvent();
        NetworkAvailabilityChangedEventHandler availability = (_, _) => onEvent();
        System.Net.NetworkInformation.NetworkChange.NetworkAddressChanged += address;
        System.Net.NetworkInformation.NetworkChange.NetworkAvailabilityChanged += availability;
        return Disposable.Create(() =>
        {
            System.Net.NetworkInformation.NetworkChange.NetworkAddressChanged -= address;
            System.Net.NetworkInformation.NetworkChange.NetworkAvailabilityChanged -= availability;
        });
    }

    private void OnPlatformEvent()
    {
        lock (_gate)
        {
            // Every event of a burst pushes the report back; the burst is reported once it has been quiet for Debounce.
            _timer ??= _time.CreateTimer(static s => ((PlatformNetworkChanges)s!).Report(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _timer.Change(Debounce, Timeout.InfiniteTimeSpan);
        }
    }

    private void Report()
    {
        IObserver<NetworkChange>[] observers;
        lock (_gate)
        {
            observers = [.. _observers];
        }

        var change = new NetworkChange(_isAvailable());
        foreach (var observer in observers)
        {
            try
            {
                observer.OnNext(change);
            }
#pragma warning disable CA1031 // One observer's failure must not keep the change from the others.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    private void Unsubscribe(IObserver<NetworkChange> observer)
    {
        lock (_gate)
        {
            if (_observers.Remove(observer) && _observers.Count == 0)
            {
                _listening?.Dispose();
                _listening = null;
                _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private sealed class Subscription(PlatformNetworkChanges owner, IObserver<NetworkChange> observer) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Unsubscribe(observer);
            }
        }
    }
}
