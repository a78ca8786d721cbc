using System.Buffers.Binary;
using System.Text;

namespace Pipeline.Aggregator.Storage;

/// <summary>Reads the binary encodings of <see cref="ByteBuffer"/>; throws <see cref="InvalidDataException"/> on truncated or malformed input.</summary>
internal ref struct SpanReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public SpanReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    public readonly int Position => _position;

    public readonly int Remaining => _data.Length - _position;

    public byte ReadByte()
    {
        Need(1);
        return _data[_position++];
    }

    public int ReadInt32()
    {
        Need(4);
        var value = BinaryPrimitives.ReadInt32LittleEndian(_data[_position..]);
        _position += 4;
        return value;
    }

    public uint ReadUInt32()
    {
        Need(4);
        var value = BinaryPrimitives.ReadUInt32LittleEndian(_data[_position..]);
        _position += 4;
        return value;
    }

    public long ReadInt64()
    {
        Need(8);
        var value = BinaryPrimitives.ReadInt64LittleEndian(_data[_position..]);
        _position += 8;
        return value;
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = ReadByte();
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw new InvalidDataException($"malformed varint at offset {_position}");
    }

    public int ReadLength(int max = int.MaxValue)
    {
        var value = ReadVarint();
        if (value > (ulong)Math.Min(max, Remaining))
        {
            throw new InvalidDataException($"length {value} at offset {_position} exceeds the {Remaining} bytes left");
        }

        return (int)value;
    }

    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        Need(count);
        var span = _data.Slice(_position, count);
        _position += count;
        return span;
    }

    public ReadOnlySpan<byte> ReadLengthPrefixed() => ReadBytes(ReadLength());

    public string ReadString() => Encoding.UTF8.GetString(ReadLengthPrefixed());

    private readonly void Need(int count)
    {
        if (count < 0 || _data.Length - _position < count)
        {
            throw new InvalidDataException($"truncated data: need {count} bytes at offset {_position}, {_data.Length - _position} left");
        }
    }
}
