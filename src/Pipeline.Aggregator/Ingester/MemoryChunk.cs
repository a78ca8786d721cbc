using Pipeline.Aggregator.Storage;
using Pipeline.Model;

namespace Pipeline.Aggregator.Ingester;

/// <summary>A chunk being built in memory: compressed blocks plus the head block.</summary>
internal sealed class MemoryChunk
{
    public MemoryChunk(long firstSequence, DateTimeOffset now, int blockSize = IngesterOptions.DefaultBlockSize)
    {
        Head = new HeadBlock(blockSize);
        FirstSequence = firstSequence;
        LastSequence = firstSequence;
        CreatedAt = now;
        LastAppendAt = now;
    }

    public List<CompressedBlock> Blocks { get; } = [];

    public HeadBlock Head { get; }

    public long CompressedBytes { get; set; }

    public long MinTs { get; set; } = long.MaxValue;

    public long MaxTs { get; set; } = long.MinValue;

    /// <summary>Sequence of the first WAL record with entries in this chunk.</summary>
    public long FirstSequence { get; }

    /// <summary>Sequence of the last WAL record with entries in this chunk.</summary>
    public long LastSequence { get; set; }

    public DateTimeOffset CreatedAt { get; }

    public DateTimeOffset LastAppendAt { get; set; }

    /// <summary>Memory held: compressed blocks plus the head.</summary>
    public long MemoryBytes => CompressedBytes + Head.SizeBytes;

    /// <summary>Loki's <c>SpaceFor</c>: compressed blocks plus the uncompressed head against the target size.</summary>
    public long FillBytes => CompressedBytes + Head.SizeBytes;
}

/// <summary>A stream of a tenant in memory: its current chunk, closed chunks waiting for flush, the newest timestamp.</summary>
internal sealed class StreamState
{
    public StreamState(LabelSet labels, long flushedThroughSequence)
    {
        Labels = labels;
        FlushedThroughSequence = flushedThroughSequence;
    }

    public LabelSet Labels { get; }

    public MemoryChunk? Current { get; set; }

    public List<MemoryChunk> Closed { get; } = [];

    public long HighestTs { get; set; } = long.MinValue;

    public long FlushedThroughSequence { get; set; }

    public DateTimeOffset LastAppendAt { get; set; }

    /// <summary>The oldest WAL sequence whose entries are not yet flushed, or <see cref="long.MaxValue"/>.</summary>
    public long MinUnflushedSequence =>
        Closed.Count > 0 ? Closed[0].FirstSequence : Current?.FirstSequence ?? long.MaxValue;

    public bool IsEmpty => Current is null && Closed.Count == 0;
}

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
