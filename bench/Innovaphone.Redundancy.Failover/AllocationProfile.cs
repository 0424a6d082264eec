using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace Innovaphone.Redundancy.Failover;

/// <summary>
/// What the client allocates in a window, by type: the runtime's allocation ticks (one event per ~100 KB allocated,
/// naming the type of the object that crossed the mark), counted in process. A sample, not an exact count: each tick
/// stands for ~100 KB. Turned on with <c>IPR_BENCH_ALLOCS=1</c> (the listener itself costs CPU).
/// </summary>
internal sealed class AllocationProfile : EventListener
{
    // The runtime's GC keyword; allocation ticks come at the verbose level.
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytes = new();
    private volatile bool _on;

    public static bool Wanted => Environment.GetEnvironmentVariable("IPR_BENCH_ALLOCS") == "1";

    public void Start() => _on = true;

    /// <summary>Stops counting and prints the <paramref name="top"/> types by sampled bytes under <paramref name="name"/>.</summary>
    public void Print(string name, int top = 25)
    {
        _on = false;
        var total = _bytes.Values.Sum();
        foreach (var (type, bytes) in _bytes.OrderByDescending(p => p.Value).Take(top))
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# {name} allocations: {bytes / 1048576d,8:0.0} MiB {bytes * 100d / total,5:0.0} % {type}"));
        }

        _bytes.Clear();
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_on || eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.Payload is null)
        {
            return;
        }

        var names = eventData.PayloadNames!;
        var type = names.IndexOf("TypeName") is var t and >= 0 ? eventData.Payload[t] as string ?? "?" : "?";
        var amount = names.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(eventData.Payload[a], CultureInfo.InvariantCulture) : 100_000;
        _bytes.AddOrUpdate(type, amount, (_, b) => b + amount);
    }
}
