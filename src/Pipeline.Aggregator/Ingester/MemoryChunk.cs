using Pipeline.Aggregator.Storage;

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
