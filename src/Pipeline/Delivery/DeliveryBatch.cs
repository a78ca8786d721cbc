using System.Runtime.InteropServices;
using Pipeline.Runtime;

namespace Pipeline.Delivery;

/// <summary>
/// A batch of one key being filled for a sink on the delivery layer: the sink's subclass holds the wire format
/// (an encoder's builder, a list of samples) and reports <see cref="Size"/>; the layer holds the acknowledgements and
/// settles them only once the batch is delivered or definitively dropped. Batches are reused.
/// </summary>
public abstract class DeliveryBatch
{
    private readonly List<AckToken> _acks = [];

    /// <summary>Items added since the batch was last reset.</summary>
    public int Count { get; private set; }

    /// <summary>The size compared with <see cref="DeliveryBatcherOptions.BatchSize"/> (bytes, or items: the sink's unit).</summary>
    public abstract long Size { get; }

    /// <summary>When the first item was added, as a timestamp of the pipeline's clock.</summary>
    internal long Started { get; set; }

    /// <summary>Records that the sink added one item, whose token is settled with the batch.</summary>
    /// <param name="ack">The item's token (<see cref="AckToken.None"/> for untracked items).</param>
    public void Added(AckToken ack)
    {
        if (!ack.IsNone)
        {
            _acks.Add(ack);
        }

        Count++;
    }

    /// <summary>Clears the sink's content for reuse.</summary>
    protected abstract void Clear();

    internal void Reset()
    {
        _acks.Clear();
        Count = 0;
        Clear();
    }

    internal void Acknowledge() => AckToken.AcknowledgeAll(CollectionsMarshal.AsSpan(_acks));
}

/// <summary>Settings of a <see cref="DeliveryBatcher{TBatch}"/>.</summary>
public sealed class DeliveryBatcherOptions
{
    /// <summary>Default <see cref="MaxQueuedBatchesPerKey"/>.</summary>
    public const int DefaultMaxQueuedBatchesPerKey = 4;

    /// <summary>How long a batch may wait for more items, on the pipeline's clock.</summary>
    public TimeSpan BatchWait { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A batch is sent once its <see cref="DeliveryBatch.Size"/> reaches this.</summary>
    public long BatchSize { get; init; } = 1024 * 1024;

    /// <summary>
    /// Requests in flight at once per key. 1 (the default) keeps each key's batches in order, which log streams and
    /// time series need; more trade order for throughput.
    /// </summary>
    public int MaxInFlightPerKey { get; init; } = 1;

    /// <summary>
    /// Full batches of one key waiting for a sender. The reader waits only when the key it is filling has this many
    /// queued, so a key whose endpoint is slow or down holds up the others only once its own queue is full: memory
    /// stays bounded (keys × (queued + in flight + 1) batches) and no item is ever dropped for it.
    /// </summary>
    public int MaxQueuedBatchesPerKey { get; init; } = DefaultMaxQueuedBatchesPerKey;

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of range.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(BatchWait, TimeSpan.Zero, nameof(BatchWait));
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxInFlightPerKey, 1, nameof(MaxInFlightPerKey));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxQueuedBatchesPerKey, 1, nameof(MaxQueuedBatchesPerKey));
    }
}
