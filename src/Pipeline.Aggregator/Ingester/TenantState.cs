using Pipeline.Aggregator.Storage;
using Pipeline.Model;

namespace Pipeline.Aggregator.Ingester;

/// <summary>A tenant in memory: its streams (guarded by <see cref="Gate"/>) and its index.</summary>
internal sealed class TenantState
{
    public TenantState(string id, Index.TenantIndex index)
    {
        Id = id;
        Index = index;
    }

    public string Id { get; }

    public Lock Gate { get; } = new();

    public Dictionary<LabelSet, StreamState> Streams { get; } = [];

    public Index.TenantIndex Index { get; }

    /// <summary>Buffer for compressing head blocks, used under <see cref="Gate"/>.</summary>
    public ByteBuffer Scratch { get; } = new(64 * 1024);
}
