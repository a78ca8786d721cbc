using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Pipeline.Loki.Protocol;

namespace Pipeline.Aggregator.Storage;

/// <summary>
/// The binary encoding of records, blocks and chunk files (little-endian integers, varints, length-prefixed bytes and
/// strings), written into the library's one pooled buffer, <see cref="PooledBufferWriter"/>.
/// </summary>
internal sealed class ByteBuffer : IDisposable
{
    private readonly PooledBufferWriter _writer;

    public ByteBuffer(int capacity = 4096) => _writer = new PooledBufferWriter(Math.Max(capacity, 256));

    public int Length => _writer.WrittenCount;

    public ReadOnlySpan<byte> WrittenSpan => _writer.WrittenSpan;

    public ReadOnlyMemory<byte> WrittenMemory => _writer.WrittenMemory;

    public int Capacity => _writer.Capacity;

    public void Clear() => _writer.Clear();

    public Span<byte> GetSpan(int sizeHint) => _writer.GetSpan(sizeHint);

    public void Advance(int count) => _writer.Advance(count);

    /// <summary>Bytes already written, to patch in place (a frame's length and checksum).</summary>
    public Span<byte> WrittenSpanMutable(int offset, int count) => MemoryMarshal.AsMemory(_writer.WrittenMemory).Span.Slice(offset, count);

    public void WriteByte(byte value)
    {
        _writer.GetSpan(1)[0] = value;
        _writer.Advance(1);
    }

    public void WriteInt32(int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(_writer.GetSpan(4), value);
        _writer.Advance(4);
    }

    public void WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_writer.GetSpan(4), value);
        _writer.Advance(4);
    }

    public void WriteInt64(long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_writer.GetSpan(8), value);
        _writer.Advance(8);
    }

    public void WriteVarint(ulong value)
    {
        var span = _writer.GetSpan(10);
        var written = 0;
        while (value >= 0x80)
        {
            span[written++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[written++] = (byte)value;
        _writer.Advance(written);
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_writer.GetSpan(bytes.Length));
        _writer.Advance(bytes.Length);
    }

    public void WriteLengthPrefixed(ReadOnlySpan<byte> bytes)
    {
        WriteVarint((ulong)bytes.Length);
        WriteBytes(bytes);
    }

    public void WriteString(string value)
    {
        var count = Encoding.UTF8.GetByteCount(value);
        WriteVarint((ulong)count);
        _writer.Advance(Encoding.UTF8.GetBytes(value, _writer.GetSpan(count)));
    }

    public void PatchUInt32(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(WrittenSpanMutable(offset, 4), value);

    public void PatchInt32(int offset, int value) => BinaryPrimitives.WriteInt32LittleEndian(WrittenSpanMutable(offset, 4), value);

    public void Dispose() => _writer.Dispose();
}
