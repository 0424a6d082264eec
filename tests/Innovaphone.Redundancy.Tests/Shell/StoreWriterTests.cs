using System.Collections.Concurrent;
using FluentAssertions;
using Innovaphone.Redundancy.Shell;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Shell;

/// <summary>
/// The background writer that keeps store saves off the manager's loop: saves never overlap, the latest record wins
/// when several queue up behind a slow save, a failure is reported and the writer goes on, and a flush covers every
/// record queued before it. Saves wait on gates the test opens; every wait is bounded in real time.
/// </summary>
public sealed class StoreWriterTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10);
    private static readonly PbxAddress Primary = PbxAddress.Parse("master.example.com/PBX0");

    [Fact]
    public async Task Save_WhileASaveIsBlocked_ReturnsAtOnce_NoOverlap_LatestQueuedRecordWins()
    {
        var store = new GatedStore();
        var writer = new StoreWriter(store, "key", _ => { }, CancellationToken.None);
        var first = Record("a");

        writer.Save(first);
        await store.Started.WaitAsync(Guard, TestContext.Current.CancellationToken);
        writer.Save(Record("b"));
        writer.Save(Record("c"));
        var flush = writer.FlushAsync(TestContext.Current.CancellationToken);
        flush.IsCompleted.Should().BeFalse("the first save is still blocked");

        store.Release();
        await flush.WaitAsync(Guard, TestContext.Current.CancellationToken);

        store.Saved.Should().Equal([first, Record("c")], "b was superseded by c before its turn");
        store.Overlapped.Should().BeFalse();
    }

    [Fact]
    public async Task Save_StoreThrows_IsReported_AndTheNextSaveStillRuns()
    {
        var store = new GatedStore { FailNext = true };
        store.Release();
        var failures = new ConcurrentQueue<Exception>();
        var writer = new StoreWriter(store, "key", failures.Enqueue, CancellationToken.None);

        writer.Save(Record("a"));
        await writer.FlushAsync(TestContext.Current.CancellationToken).WaitAsync(Guard, TestContext.Current.CancellationToken);
        writer.Save(Record("b"));
        await writer.FlushAsync(TestContext.Current.CancellationToken).WaitAsync(Guard, TestContext.Current.CancellationToken);

        failures.Should().ContainSingle().Which.Should().BeOfType<IOException>();
        store.Saved.Should().Equal(Record("b"));
    }

    [Fact]
    public async Task FlushAsync_NothingQueued_CompletesAtOnce()
    {
        var writer = new StoreWriter(new GatedStore(), "key", _ => { }, CancellationToken.None);

        await writer.FlushAsync(TestContext.Current.CancellationToken).WaitAsync(Guard, TestContext.Current.CancellationToken);
    }

    private static RedundancyRecord Record(string secondary) => new(Primary, PbxAddress.Parse($"{secondary}.example.com/PBX0"), null);

    /// <summary>A store whose saves wait for <see cref="Release"/>; records what it saved and whether saves overlapped.</summary>
    private sealed class GatedStore : IRedundancyStore
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentQueue<RedundancyRecord> _saved = new();
        private int _inside;

        public bool FailNext { get; set; }

        public bool Overlapped { get; private set; }

        public Task Started => _started.Task;

        public IReadOnlyList<RedundancyRecord> Saved => [.. _saved];

        public void Release() => _gate.TrySetResult();

        public ValueTask<RedundancyRecord?> LoadAsync(string key, CancellationToken cancellationToken) => ValueTask.FromResult<RedundancyRecord?>(null);

        public async ValueTask SaveAsync(string key, RedundancyRecord record, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _inside) != 1)
            {
                Overlapped = true;
            }

            try
            {
                _started.TrySetResult();
                await _gate.Task.WaitAsync(cancellationToken);
                if (FailNext)
                {
                    FailNext = false;
                    throw new IOException("disk full");
                }

                _saved.Enqueue(record);
            }
            finally
            {
                Interlocked.Decrement(ref _inside);
            }
        }
    }
}
