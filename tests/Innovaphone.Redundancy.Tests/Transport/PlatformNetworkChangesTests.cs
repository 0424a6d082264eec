using System.Reactive.Disposables;
using FluentAssertions;
using Innovaphone.Redundancy.Transport;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Transport;

/// <summary>The default network-change source: one notification per burst of platform events, listening only while subscribed.</summary>
public sealed class PlatformNetworkChangesTests
{
    private readonly FakeTimeProvider _time = new();
    private Action? _platformEvent;
    private int _listeners;
    private bool _available = true;

    [Fact]
    public void BurstOfEvents_IsReportedOnce_AfterItWasQuietForTheDebounce()
    {
        var changes = new List<NetworkChange>();
        using var subscription = Create().Subscribe(changes.Add);

        _platformEvent!();
        _time.Advance(TimeSpan.FromMilliseconds(100));
        _platformEvent!();
        _available = false;
        _platformEvent!();
        _time.Advance(PlatformNetworkChanges.Debounce - TimeSpan.FromMilliseconds(1));
        changes.Should().BeEmpty("the burst goes on until it has been quiet for the debounce");
        _time.Advance(TimeSpan.FromMilliseconds(1));

        changes.Should().Equal(new NetworkChange(IsAvailable: false));
        _time.Advance(TimeSpan.FromMinutes(1));
        changes.Should().HaveCount(1);
    }

    [Fact]
    public void ListensToThePlatform_OnlyWhileSubscribed()
    {
        var source = Create();
        _listeners.Should().Be(0);

        var first = source.Subscribe(_ => { });
        var second = source.Subscribe(_ => { });
        _listeners.Should().Be(1, "one platform listener serves every subscriber");
        first.Dispose();
        _listeners.Should().Be(1);
        second.Dispose();

        _listeners.Should().Be(0);
    }

    [Fact]
    public void ThrowingObserver_DoesNotKeepTheChangeFromTheOthers()
    {
        var source = Create();
        var seen = 0;
        using var bad = source.Subscribe(_ => throw new InvalidOperationException("observer bug"));
        using var good = source.Subscribe(_ => seen++);

        _platformEvent!();
        _time.Advance(PlatformNetworkChanges.Debounce);

        seen.Should().Be(1);
    }

    private PlatformNetworkChanges Create() => new(
        _time,
        onEvent =>
        {
            _platformEvent = onEvent;
            _listeners++;
            return Disposable.Create(() => _listeners--);
        },
        () => _available);
}
