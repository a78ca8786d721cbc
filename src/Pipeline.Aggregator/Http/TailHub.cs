using System.Collections.Concurrent;
using Pipeline.Aggregator.Storage;
using System.Threading.Channels;
using Pipeline.Aggregator.Distributor;
using Pipeline.Model;

namespace Pipeline.Aggregator.Http;

/// <summary>Hands stored pushes to live tail sessions of the same tenant. Never blocks a push: a slow session loses batches (counted).</summary>
internal sealed class TailHub : IPushObserver
{
    private readonly ConcurrentDictionary<TailSubscription, string> _subscriptions = new();

    public bool HasListeners(string tenant)
    {
        foreach (var (_, subscribed) in _subscriptions)
        {
            if (string.Equals(subscribed, tenant, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public void OnPushed(string tenant, IReadOnlyList<IngestStream> streams)
    {
        TailBatch? batch = null;
        foreach (var (subscription, subscribed) in _subscriptions)
        {
            if (!string.Equals(subscribed, tenant, StringComparison.Ordinal))
            {
                continue;
            }

            // Copy once: the push's line buffers are returned when it completes.
            batch ??= TailBatch.Copy(streams);
            if (!subscription.Batches.Writer.TryWrite(batch))
            {
                subscription.RecordDropped(batch);
            }
        }
    }

    public TailSubscription Subscribe(string tenant)
    {
        var subscription = new TailSubscription(this);
        _subscriptions[subscription] = tenant;
        return subscription;
    }

    internal void Remove(TailSubscription subscription) => _subscriptions.TryRemove(subscription, out _);
}

/// <summary>One live tail session's queue of pushed batches, and the entries it lost because it fell behind.</summary>
internal sealed class TailSubscription(TailHub hub) : IDisposable
{
    /// <summary>Loki's most dropped entries listed in one tail response; more are not listed.</summary>
    public const int MaxDroppedEntries = 1000;

    private readonly Lock _droppedLock = new();
    private List<(LabelSet Labels, long Timestamp)> _dropped = [];

    public Channel<TailBatch> Batches { get; } = Channel.CreateBounded<TailBatch>(new BoundedChannelOptions(1024)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = true,
    });

    /// <summary>Entries dropped since the last response (at most <see cref="MaxDroppedEntries"/>).</summary>
    public int DroppedCount
    {
        get
        {
            lock (_droppedLock)
            {
                return _dropped.Count;
            }
        }
    }

    public void Dispose() => hub.Remove(this);

    /// <summary>Lists the entries of a batch the session had no room for, by stream labels and timestamp, up to the cap.</summary>
    public void RecordDropped(TailBatch batch)
    {
        lock (_droppedLock)
        {
            foreach (var (labels, entries) in batch.Streams)
            {
                foreach (var (ts, _) in entries)
                {
                    if (_dropped.Count >= MaxDroppedEntries)
                    {
                        return;
                    }

                    _dropped.Add((labels, ts));
                }
            }
        }
    }

    /// <summary>Takes the entries dropped since the last call.</summary>
    public List<(LabelSet Labels, long Timestamp)> TakeDropped()
    {
        lock (_droppedLock)
        {
            if (_dropped.Count == 0)
            {
                return [];
            }

            var taken = _dropped;
            _dropped = [];
            return taken;
        }
    }
}

/// <summary>A copy of the streams of one stored push.</summary>
internal sealed class TailBatch
{
    private TailBatch(List<(LabelSet Labels, List<(long Ts, byte[] Line)> Entries)> streams, int count)
    {
        Streams = streams;
        EntryCount = count;
    }

    public List<(LabelSet Labels, List<(long Ts, byte[] Line)> Entries)> Streams { get; }

    public int EntryCount { get; }

    public static TailBatch Copy(IReadOnlyList<IngestStream> streams)
    {
        var copy = new List<(LabelSet, List<(long, byte[])>)>(streams.Count);
        var count = 0;
        foreach (var stream in streams)
        {
            var entries = new List<(long, byte[])>(stream.Entries.Count);
            foreach (var entry in stream.Entries)
            {
                entries.Add((entry.TimestampNs, entry.Line.ToArray()));
            }

            count += entries.Count;
            copy.Add((stream.Labels, entries));
        }

        return new TailBatch(copy, count);
    }
}
