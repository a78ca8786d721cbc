using Pipeline.Aggregator.Storage;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// A stream's chunk until it is indexed: its head block in memory, and the blocks already cut, appended to its chunk file
/// (<see cref="ChunkFileWriter"/>) — or, while that file cannot be written, kept compressed in memory.
/// </summary>
internal sealed class OpenChunk
{
    public OpenChunk(long firstSequence, DateTimeOffset now)
    {
        Head = new HeadBlock();
        FirstSequence = firstSequence;
        LastSequence = firstSequence;
        CreatedAt = now;
        LastAppendAt = now;
    }

    public HeadBlock Head { get; }

    /// <summary>The chunk file, created when the first block is cut.</summary>
    public ChunkFileWriter? File { get; set; }

    /// <summary>Blocks cut but not yet in the file (its write failed); written before any later block.</summary>
    public List<CompressedBlock> Unwritten { get; } = [];

    /// <summary>Compressed bytes of the blocks cut (in the file or unwritten).</summary>
    public long CompressedBytes { get; set; }

    /// <summary>Bytes of <see cref="Unwritten"/>.</summary>
    public long UnwrittenBytes { get; set; }

    public long MinTs { get; set; } = long.MaxValue;

    public long MaxTs { get; set; } = long.MinValue;

    /// <summary>Sequence of the first WAL record with entries in this chunk.</summary>
    public long FirstSequence { get; }

    /// <summary>Sequence of the last WAL record with entries in this chunk.</summary>
    public long LastSequence { get; set; }

    public DateTimeOffset CreatedAt { get; }

    public DateTimeOffset LastAppendAt { get; set; }

    /// <summary>Memory held: the head and the unwritten blocks (written blocks are in the page cache, not the process).</summary>
    public long MemoryBytes => Head.SizeBytes + UnwrittenBytes;

    /// <summary>Loki's <c>SpaceFor</c>: compressed blocks plus the uncompressed head against the target size.</summary>
    public long FillBytes => CompressedBytes + Head.SizeBytes;

    public int BlockCount => (File?.Blocks.Count ?? 0) + Unwritten.Count;
}
