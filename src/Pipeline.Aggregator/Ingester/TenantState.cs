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

    /// <summary>Buffer for sorting head blocks, used under <see cref="Gate"/>.</summary>
    public ByteBuffer Scratch { get; } = new(64 * 1024);

    /// <summary>Buffer for chunk file headers, used by the flusher.</summary>
    public ByteBuffer FlushScratch { get; } = new(4096);

#pragma warning disable SA1401, CA1051 // Passed by reference to the compressor, which grows it.
    /// <summary>Buffer for compressing head blocks, used under <see cref="Gate"/>.</summary>
    public byte[] CompressScratch = [];

    /// <summary>Buffer for decompressing WAL sections on replay, used under <see cref="Gate"/>.</summary>
    public byte[] ReplayScratch = [];
#pragma warning restore SA1401, CA1051
}
