using Pipeline.Model;
using Snappier;

namespace Pipeline.Aggregator.Storage;

/// <summary>
/// A snappy-compressed block of entries sorted by (timestamp, line); uncompressed, each entry is in <see cref="EntryFormat"/>.
/// Blocks normally go straight to their chunk file; one is held in memory only while that file cannot be written.
/// </summary>
internal sealed class CompressedBlock
{
    public CompressedBlock(byte[] data, int uncompressedLength, long minTs, long maxTs, int count, uint checksum)
    {
        Buffer = data;
        UncompressedLength = uncompressedLength;
        MinTs = minTs;
        MaxTs = maxTs;
        Count = count;
        Checksum = checksum;
    }

    public ReadOnlySpan<byte> Data => Buffer;

    public int Length => Buffer.Length;

    public int UncompressedLength { get; }

    public long MinTs { get; }

    public long MaxTs { get; }

    public int Count { get; }

    public uint Checksum { get; }

    private byte[] Buffer { get; }

    /// <summary>Compresses <paramref name="uncompressed"/> into <paramref name="scratch"/> (grown as needed); returns the compressed length.</summary>
    public static int Compress(ReadOnlySpan<byte> uncompressed, ref byte[] scratch)
    {
        var max = Snappy.GetMaxCompressedLength(uncompressed.Length);
        if (scratch.Length < max)
        {
            scratch = new byte[max];
        }

        return Snappy.Compress(uncompressed, scratch);
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
