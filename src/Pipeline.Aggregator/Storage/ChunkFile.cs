using System.Globalization;
using Microsoft.Win32.SafeHandles;
using Pipeline.Model;

namespace Pipeline.Aggregator.Storage;

/// <summary>Where a block lies in a chunk file and what it holds.</summary>
internal readonly record struct BlockMeta(long Offset, int CompressedLength, int UncompressedLength, long MinTs, long MaxTs, int Count, uint Checksum);

/// <summary>The header of a chunk file.</summary>
internal sealed record ChunkHeader(LabelSet Labels, long MinTs, long MaxTs, int Entries, uint Checksum, IReadOnlyList<BlockMeta> Blocks)
{
    /// <summary>Whether block data is frames (version 2) rather than one bare snappy block (version 1).</summary>
    public bool Framed { get; init; } = true;
}

/// <summary>
/// A flushed chunk on disk (version 2): 8 bytes of magic, the snappy blocks (each with its own CRC-32C) in the order they
/// were cut, then the header as one framed record (<see cref="RecordFraming"/>: length and CRC-32C) holding the stream
/// labels, time range, entry count, a checksum over all block data and the block table, and a trailer of the header's
/// offset and the magic again. Blocks are appended while the chunk is open (<see cref="ChunkFileWriter"/>); the header is
/// written, the file fsynced and renamed only when the chunk is complete, so a file with a final name is whole.
/// Version 1 files (header first, written whole) are still read.
/// </summary>
internal static class ChunkFile
{
    private const byte Version = 1;
    private const int MaxHeaderSize = 64 << 20;
    private const int TrailerSize = 16;

    private static ReadOnlySpan<byte> MagicV1 => "PLCHUNK\u0001"u8;

    /// <summary>The magic at the start and end of a version 2 chunk file.</summary>
    public static ReadOnlySpan<byte> MagicV2 => "PLCHUNK\u0002"u8;

    /// <summary>The file name of a chunk: <c>&lt;minTs&gt;-&lt;maxTs&gt;-&lt;checksum&gt;</c> in hex.</summary>
    public static string FileName(long minTs, long maxTs, uint checksum) =>
        string.Create(CultureInfo.InvariantCulture, $"{minTs:x16}-{maxTs:x16}-{checksum:x8}.chunk");

    /// <summary>Writes the header record and the trailer of a version 2 file whose blocks end at <paramref name="headerOffset"/>.</summary>
    public static void WriteHeaderAndTrailer(ByteBuffer buffer, ChunkHeader header, long headerOffset)
    {
        var frame = RecordFraming.BeginFrame(buffer);
        EncodeHeader(buffer, header);
        RecordFraming.EndFrame(buffer, frame);
        buffer.WriteInt64(headerOffset);
        buffer.WriteBytes(MagicV2);
    }

    /// <summary>Reads and checks a chunk's header; throws <see cref="InvalidDataException"/> when the file is damaged.</summary>
    public static ChunkHeader ReadHeader(string path, out long dataOffset)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        return ReadHeader(handle, path, out dataOffset);
    }

    /// <summary>Reads, checks and decompresses one block (<paramref name="framed"/>: see <see cref="ChunkHeader.Framed"/>).</summary>
    public static byte[] ReadBlock(string path, long dataOffset, BlockMeta block, bool framed = true)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        var compressed = new byte[block.CompressedLength];
        var read = RandomAccess.Read(handle, compressed, dataOffset + block.Offset);
        if (read != compressed.Length)
        {
            throw new InvalidDataException($"chunk {path}: block at {block.Offset} is truncated");
        }

        if (Checksum.Crc32C(compressed) != block.Checksum)
        {
            throw new InvalidDataException($"chunk {path}: block at {block.Offset} fails its checksum");
        }

        return CompressedBlock.Decompress(compressed, block.UncompressedLength, framed);
    }

    private static ChunkHeader ReadHeader(SafeFileHandle handle, string path, out long dataOffset)
    {
        Span<byte> start = stackalloc byte[16];
        if (RandomAccess.Read(handle, start, 0) != 16)
        {
            throw new InvalidDataException($"chunk {path}: not a chunk file (too short)");
        }

        if (start[..8].SequenceEqual(MagicV1))
        {
            // Version 1: the header frame follows the magic, the blocks follow the header.
            var header = ReadHeaderFrame(handle, path, 8, out var frameLength);
            dataOffset = 8 + frameLength;
            return header with { Framed = false };
        }

        if (!start[..8].SequenceEqual(MagicV2))
        {
            throw new InvalidDataException($"chunk {path}: not a chunk file (bad magic)");
        }

        var fileLength = RandomAccess.GetLength(handle);
        Span<byte> trailer = stackalloc byte[TrailerSize];
        if (fileLength < 8 + TrailerSize || RandomAccess.Read(handle, trailer, fileLength - TrailerSize) != TrailerSize || !trailer[8..].SequenceEqual(MagicV2))
        {
            throw new InvalidDataException($"chunk {path}: the chunk file is incomplete (no trailer)");
        }

        var headerOffset = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(trailer);
        if (headerOffset < 8 || headerOffset > fileLength - TrailerSize - RecordFraming.HeaderSize)
        {
            throw new InvalidDataException($"chunk {path}: impossible header offset {headerOffset}");
        }

        dataOffset = 8;
        return ReadHeaderFrame(handle, path, headerOffset, out _);
    }

    private static ChunkHeader ReadHeaderFrame(SafeFileHandle handle, string path, long offset, out int frameLength)
    {
        Span<byte> frame = stackalloc byte[RecordFraming.HeaderSize];
        if (RandomAccess.Read(handle, frame, offset) != frame.Length)
        {
            throw new InvalidDataException($"chunk {path}: the header is truncated");
        }

        var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(frame);
        var crc = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(frame[4..]);
        if (length <= 0 || length > MaxHeaderSize)
        {
            throw new InvalidDataException($"chunk {path}: impossible header length {length}");
        }

        var payload = new byte[length];
        if (RandomAccess.Read(handle, payload, offset + RecordFraming.HeaderSize) != length || Checksum.Crc32C(payload) != crc)
        {
            throw new InvalidDataException($"chunk {path}: header fails its checksum");
        }

        frameLength = RecordFraming.HeaderSize + length;
        return DecodeHeader(payload);
    }

    private static void EncodeHeader(ByteBuffer buffer, ChunkHeader header)
    {
        buffer.WriteByte(Version);
        buffer.WriteVarint((ulong)header.Labels.Count);
        foreach (var label in header.Labels)
        {
            buffer.WriteString(label.Name);
            buffer.WriteString(label.Value);
        }

        buffer.WriteInt64(header.MinTs);
        buffer.WriteInt64(header.MaxTs);
        buffer.WriteVarint((ulong)header.Entries);
        buffer.WriteUInt32(header.Checksum);
        buffer.WriteVarint((ulong)header.Blocks.Count);
        foreach (var block in header.Blocks)
        {
            buffer.WriteInt64(block.Offset);
            buffer.WriteVarint((ulong)block.CompressedLength);
            buffer.WriteVarint((ulong)block.UncompressedLength);
            buffer.WriteInt64(block.MinTs);
            buffer.WriteInt64(block.MaxTs);
            buffer.WriteVarint((ulong)block.Count);
            buffer.WriteUInt32(block.Checksum);
        }
    }

    private static ChunkHeader DecodeHeader(ReadOnlySpan<byte> payload)
    {
        var reader = new SpanReader(payload);
        var version = reader.ReadByte();
        if (version != Version)
        {
            throw new InvalidDataException($"unknown chunk version {version}");
        }

        var labels = ReadLabels(ref reader);
        var minTs = reader.ReadInt64();
        var maxTs = reader.ReadInt64();
        var entries = (int)reader.ReadVarint();
        var checksum = reader.ReadUInt32();
        var count = reader.ReadLength();
        var blocks = new BlockMeta[count];
        for (var i = 0; i < count; i++)
        {
            blocks[i] = new BlockMeta(
                reader.ReadInt64(),
                (int)reader.ReadVarint(),
                (int)reader.ReadVarint(),
                reader.ReadInt64(),
                reader.ReadInt64(),
                (int)reader.ReadVarint(),
                reader.ReadUInt32());
        }

        return new ChunkHeader(labels, minTs, maxTs, entries, checksum, blocks);
    }

    internal static LabelSet ReadLabels(ref SpanReader reader)
    {
        var count = reader.ReadLength();
        var labels = new Label[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = new Label(reader.ReadString(), reader.ReadString());
        }

        return LabelSet.TryCreate(labels, out var set, out var error) ? set : throw new InvalidDataException($"invalid labels: {error}");
    }
}
