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

    /// <summary>The most bytes one frame of <paramref name="uncompressedLength"/> bytes takes.</summary>
    public static int MaxFrameLength(int uncompressedLength) => FrameHeaderSize + Snappy.GetMaxCompressedLength(uncompressedLength);

    /// <summary>
    /// Writes one frame — <c>u32 compressed length, snappy block</c> — of <paramref name="uncompressed"/> into
    /// <paramref name="destination"/> (at least <see cref="MaxFrameLength"/>); returns the bytes written.
    /// </summary>
    public static int WriteFrame(ReadOnlySpan<byte> uncompressed, Span<byte> destination)
    {
        var length = Snappy.Compress(uncompressed, destination[FrameHeaderSize..]);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(destination, length);
        return FrameHeaderSize + length;
    }

    /// <summary>
    /// Decompresses block data: frames (chunk version 2, WAL sections) or, when <paramref name="framed"/> is false, one bare
    /// snappy block (chunk version 1). Throws <see cref="InvalidDataException"/> when it does not make exactly
    /// <paramref name="uncompressedLength"/> bytes.
    /// </summary>
    public static byte[] Decompress(ReadOnlySpan<byte> data, int uncompressedLength, bool framed = true)
    {
        var result = new byte[uncompressedLength];
        DecompressInto(data, result, framed);
        return result;
    }

    /// <summary>Decompresses block data into <paramref name="destination"/>, which it must fill exactly.</summary>
    public static void DecompressInto(ReadOnlySpan<byte> data, Span<byte> destination, bool framed = true)
    {
        if (!framed)
        {
            DecompressFrame(data, destination);
            return;
        }

        var written = 0;
        while (!data.IsEmpty)
        {
            if (data.Length < FrameHeaderSize)
            {
                throw new InvalidDataException("block data ends inside a frame header");
            }

            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(data);
            if (length < 0 || length > data.Length - FrameHeaderSize)
            {
                throw new InvalidDataException($"block frame of {length} bytes exceeds the {data.Length - FrameHeaderSize} bytes left");
            }

            var frame = data.Slice(FrameHeaderSize, length);
            var size = FrameUncompressedLength(frame);
            if (size > destination.Length - written)
            {
                throw new InvalidDataException($"block frames decompress to more than the {destination.Length} bytes expected");
            }

            DecompressFrame(frame, destination.Slice(written, size));
            written += size;
            data = data[(FrameHeaderSize + length)..];
        }

        if (written != destination.Length)
        {
            throw new InvalidDataException($"block decompresses to {written} bytes, expected {destination.Length}");
        }
    }

    private const int FrameHeaderSize = 4;

    private static int FrameUncompressedLength(ReadOnlySpan<byte> frame)
    {
        try
        {
            return Snappy.GetUncompressedLength(frame);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"invalid snappy block: {e.Message}", e);
        }
    }

    private static void DecompressFrame(ReadOnlySpan<byte> frame, Span<byte> destination)
    {
        if (FrameUncompressedLength(frame) != destination.Length)
        {
            throw new InvalidDataException($"block decompresses to {FrameUncompressedLength(frame)} bytes, expected {destination.Length}");
        }

        try
        {
            Snappy.Decompress(frame, destination);
        }
        catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException)
        {
            throw new InvalidDataException($"invalid snappy block: {e.Message}", e);
        }
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
        var recent = new RecentMetadata();
        for (var i = 0; i < count; i++)
        {
            timestamps[i] = reader.ReadInt64();
            var length = reader.ReadLength();
            offsets[i] = reader.Position;
            lengths[i] = length;
            reader.ReadBytes(length);
            var metaStart = reader.Position;
            if (!MetadataCodec.Skip(ref reader))
            {
                continue;
            }

            metadata ??= new IReadOnlyList<Label>?[count];
            metadata[i] = recent.Get(data, metaStart, reader.Position - metaStart);
        }

        if (reader.Remaining != 0)
        {
            throw new InvalidDataException($"{reader.Remaining} unexpected bytes after the {count} entries of a block");
        }

        return new BlockEntries(data, timestamps, offsets, lengths, metadata);
    }

    /// <summary>
    /// The metadata of a block's last few distinct encodings, decoded once each: entries of a stream mostly repeat a
    /// handful of metadata sets (a detected level, a trace flag), so a block decodes each set once, not once per entry.
    /// </summary>
    private struct RecentMetadata
    {
        private const int Capacity = 8;
        private (int Offset, int Length, IReadOnlyList<Label> Decoded)[]? _slots;
        private int _count;
        private int _next;

        public IReadOnlyList<Label> Get(byte[] data, int offset, int length)
        {
            var raw = data.AsSpan(offset, length);
            _slots ??= new (int, int, IReadOnlyList<Label>)[Capacity];
            for (var i = 0; i < _count; i++)
            {
                var slot = _slots[i];
                if (slot.Length == length && data.AsSpan(slot.Offset, slot.Length).SequenceEqual(raw))
                {
                    return slot.Decoded;
                }
            }

            var reader = new SpanReader(raw);
            var labels = (Label[])MetadataCodec.Read(ref reader)!;

            // As a label set (what queries use), when its names are distinct; as stored otherwise.
            IReadOnlyList<Label> decoded = LabelSet.TryCreate(labels, out var set, out _) ? set : labels;
            _slots[_next] = (offset, length, decoded);
            _next = (_next + 1) % Capacity;
            _count = Math.Min(_count + 1, Capacity);
            return decoded;
        }
    }
}
