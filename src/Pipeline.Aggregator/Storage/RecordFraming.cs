using System.Buffers;
using System.Buffers.Binary;

namespace Pipeline.Aggregator.Storage;

/// <summary>What <see cref="FramedRecordReader.Next"/> found.</summary>
internal enum FrameStatus
{
    /// <summary>A whole record whose checksum matches.</summary>
    Record,

    /// <summary>The clean end of the file.</summary>
    End,

    /// <summary>A partial frame at the end of the file (a write cut short by a crash).</summary>
    Torn,

    /// <summary>A frame whose length is impossible or whose checksum does not match.</summary>
    Corrupt,
}

/// <summary>
/// The frame shared by WAL segments and index logs: <c>[u32 payload length][u32 CRC-32C of payload][payload]</c>,
/// little endian. A reader stops at the first bad frame; everything before it is good.
/// </summary>
internal static class RecordFraming
{
    public const int HeaderSize = 8;

    /// <summary>Reserves the frame header; returns where it starts, for <see cref="EndFrame"/>.</summary>
    public static int BeginFrame(ByteBuffer buffer)
    {
        var start = buffer.Length;
        buffer.WriteInt64(0);
        return start;
    }

    /// <summary>Fills in the length and checksum of the payload written since <see cref="BeginFrame"/>.</summary>
    public static void EndFrame(ByteBuffer buffer, int start)
    {
        var payloadLength = buffer.Length - start - HeaderSize;
        var payload = buffer.WrittenSpan.Slice(start + HeaderSize, payloadLength);
        buffer.PatchInt32(start, payloadLength);
        buffer.PatchUInt32(start + 4, Checksum.Crc32C(payload));
    }
}

/// <summary>Reads frames from a file one at a time into a pooled buffer, so memory is bounded by the largest record.</summary>
internal sealed class FramedRecordReader : IDisposable
{
    private readonly FileStream _stream;
    private readonly int _maxPayload;
    private byte[] _buffer;
    private int _payloadLength;

    public FramedRecordReader(string path, long startOffset, int maxPayload)
    {
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        _stream.Position = startOffset;
        GoodOffset = startOffset;
        _maxPayload = maxPayload;
        _buffer = ArrayPool<byte>.Shared.Rent(4096);
    }

    /// <summary>The offset just after the last good record: where a damaged file is cut.</summary>
    public long GoodOffset { get; private set; }

    /// <summary>The file length.</summary>
    public long FileLength => _stream.Length;

    /// <summary>The payload of the record last returned.</summary>
    public ReadOnlySpan<byte> Payload => _buffer.AsSpan(0, _payloadLength);

    /// <summary>The payload as memory, valid until the next <see cref="Next"/>.</summary>
    public ReadOnlyMemory<byte> PayloadMemory => _buffer.AsMemory(0, _payloadLength);

    public FrameStatus Next(out string? error)
    {
        Span<byte> header = stackalloc byte[RecordFraming.HeaderSize];
        var read = _stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (read == 0)
        {
            error = null;
            return FrameStatus.End;
        }

        if (read < header.Length)
        {
            error = $"torn record header at offset {GoodOffset}: {read} of {RecordFraming.HeaderSize} bytes";
            return FrameStatus.Torn;
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(header);
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        if (length <= 0 || length > _maxPayload)
        {
            error = $"corrupt record at offset {GoodOffset}: impossible length {length}";
            return FrameStatus.Corrupt;
        }

        if (_buffer.Length < length)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(length);
        }

        read = _stream.ReadAtLeast(_buffer.AsSpan(0, length), length, throwOnEndOfStream: false);
        if (read < length)
        {
            error = $"torn record at offset {GoodOffset}: {read} of {length} payload bytes";
            return FrameStatus.Torn;
        }

        if (Checksum.Crc32C(_buffer.AsSpan(0, length)) != crc)
        {
            error = $"corrupt record at offset {GoodOffset}: checksum mismatch";
            return FrameStatus.Corrupt;
        }

        _payloadLength = length;
        GoodOffset += RecordFraming.HeaderSize + length;
        error = null;
        return FrameStatus.Record;
    }

    public void Dispose()
    {
        _stream.Dispose();
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
