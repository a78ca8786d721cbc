using Pipeline.Model;
using Snappier;

namespace Pipeline.Aggregator.Storage;

/// <summary>
/// A snappy-compressed block of entries sorted by (timestamp, line). Uncompressed, each entry is
/// <c>i64 ts, varint line length, line, varint metadata count, (string name, string value)*</c>.
/// </summary>
/// <remarks>
/// A block cut in memory keeps its bytes in a buffer of <see cref="BlockBufferPool"/>, a bounded pool of 4 KiB size classes,
/// so the data of chunks that were flushed is reused for new blocks instead of piling up as garbage. The buffer goes back
/// when the last holder (the chunk, and any reader that <see cref="TryAcquire"/>d it) releases it; a reader that never
/// releases only costs the pool that buffer.
/// </remarks>
internal sealed class CompressedBlock
{
    private byte[]? _pooled;
    private int _references = 1;

    public CompressedBlock(byte[] data, int uncompressedLength, long minTs, long maxTs, int count, uint checksum)
        : this(data, data.Length, uncompressedLength, minTs, maxTs, count, checksum, pooled: false)
    {
    }

    private CompressedBlock(byte[] data, int length, int uncompressedLength, long minTs, long maxTs, int count, uint checksum, bool pooled)
    {
        _pooled = pooled ? data : null;
        Buffer = data;
        Length = length;
        UncompressedLength = uncompressedLength;
        MinTs = minTs;
        MaxTs = maxTs;
        Count = count;
        Checksum = checksum;
    }

    /// <summary>The compressed bytes; valid while the block is held.</summary>
    public ReadOnlySpan<byte> Data => Buffer.AsSpan(0, Length);

    public int Length { get; }

    public int UncompressedLength { get; }

    public long MinTs { get; }

    public long MaxTs { get; }

    public int Count { get; }

    public uint Checksum { get; }

    private byte[] Buffer { get; }

    public static CompressedBlock Compress(ReadOnlySpan<byte> uncompressed, long minTs, long maxTs, int count)
    {
        // Compress into scratch, then keep only the compressed size: a buffer of the worst-case size would be several
        // times larger than the block.
        var scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(Snappy.GetMaxCompressedLength(uncompressed.Length));
        try
        {
            var length = Snappy.Compress(uncompressed, scratch);
            var data = BlockBufferPool.Rent(length);
            scratch.AsSpan(0, length).CopyTo(data);
            return new CompressedBlock(data, length, uncompressed.Length, minTs, maxTs, count, Storage.Checksum.Crc32C(data.AsSpan(0, length)), pooled: true);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    public static byte[] Decompress(ReadOnlySpan<byte> compressed, int uncompressedLength)
    {
        var length = Snappy.GetUncompressedLength(compressed);
        if (length != uncompressedLength)
        {
            throw new InvalidDataException($"block decompresses to {length} bytes, expected {uncompressedLength}");
        }

        var data = new byte[length];
        Snappy.Decompress(compressed, data);
        return data;
    }

    public byte[] Decompress() => Decompress(Data, UncompressedLength);

    /// <summary>Takes a reference for a reader; false when the block was already released (its chunk is on disk now).</summary>
    public bool TryAcquire()
    {
        var current = Volatile.Read(ref _references);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    /// <summary>Gives up one reference; the last one returns the buffer to the pool.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0 && Interlocked.Exchange(ref _pooled, null) is { } buffer)
        {
            BlockBufferPool.Return(buffer);
        }
    }
}

/// <summary>The entries of an uncompressed block, indexed for reading in either direction.</summary>
internal sealed class BlockEntries
{
    private BlockEntries(byte[] data, long[] timestamps, int[] offsets, int[] lengths, IReadOnlyList<Label>?[]? metadata)
    {
        Data = data;
        Timestamps = timestamps;
        Offsets = offsets;
        Lengths = lengths;
        Metadata = metadata;
    }

    public byte[] Data { get; }

    public long[] Timestamps { get; }

    public int[] Offsets { get; }

    public int[] Lengths { get; }

    public IReadOnlyList<Label>?[]? Metadata { get; }

    public int Count => Timestamps.Length;

    public ReadOnlySpan<byte> Line(int index) => Data.AsSpan(Offsets[index], Lengths[index]);

    public static BlockEntries Parse(byte[] data, int count)
    {
        var timestamps = new long[count];
        var offsets = new int[count];
        var lengths = new int[count];
        IReadOnlyList<Label>?[]? metadata = null;
        var reader = new SpanReader(data);
        for (var i = 0; i < count; i++)
        {
            timestamps[i] = reader.ReadInt64();
            var length = reader.ReadLength();
            offsets[i] = reader.Position;
            lengths[i] = length;
            reader.ReadBytes(length);
            var meta = MetadataCodec.Read(ref reader);
            if (meta is not null)
            {
                metadata ??= new IReadOnlyList<Label>?[count];
                metadata[i] = meta;
            }
        }

        if (reader.Remaining != 0)
        {
            throw new InvalidDataException($"{reader.Remaining} unexpected bytes after the {count} entries of a block");
        }

        return new BlockEntries(data, timestamps, offsets, lengths, metadata);
    }
}
