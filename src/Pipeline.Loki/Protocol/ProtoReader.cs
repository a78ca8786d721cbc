namespace Pipeline.Loki.Protocol;

/// <summary>
/// A bounds-checked protobuf reader over one span. Every declared length is checked against the bytes that remain
/// before anything is read, so a hostile length prefix can never cause an allocation or an out-of-range read.
/// </summary>
internal ref struct ProtoReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly int _baseOffset;
    private int _position;

    public ProtoReader(ReadOnlySpan<byte> data, int baseOffset = 0)
    {
        _data = data;
        _baseOffset = baseOffset;
        _position = 0;
    }

    public readonly bool End => _position >= _data.Length;

    /// <summary>The absolute offset in the whole message (for error messages).</summary>
    public readonly int Offset => _baseOffset + _position;

    public (int Field, int WireType) ReadTag(string message)
    {
        var at = Offset;
        var tag = ReadVarint();
        var field = tag >> 3;
        if (field == 0 || field > 536_870_911)
        {
            throw new PushFormatException($"{message}: invalid field number {field} at offset {at}");
        }

        return ((int)field, (int)(tag & 7));
    }

    public ulong ReadVarint()
    {
        // Tags and most lengths take one or two bytes: read without the general loop (several times per entry).
        var position = _position;
        var data = _data;
        if ((uint)(position + 1) < (uint)data.Length)
        {
            uint first = data[position];
            if (first < 0x80)
            {
                _position = position + 1;
                return first;
            }

            uint second = data[position + 1];
            if (second < 0x80)
            {
                _position = position + 2;
                return (first & 0x7F) | (second << 7);
            }
        }

        return ReadVarintSlow();
    }

    private ulong ReadVarintSlow()
    {
        var at = Offset;
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (_position >= _data.Length)
            {
                throw new PushFormatException($"truncated varint at offset {at}");
            }

            var b = _data[_position++];
            if (shift == 63 && b > 1)
            {
                throw new PushFormatException($"varint at offset {at} overflows 64 bits");
            }

            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        throw new PushFormatException($"varint at offset {at} is longer than 10 bytes");
    }

    /// <summary>Reads a length prefix and the bytes it covers, checking the length against what remains.</summary>
    public ReadOnlySpan<byte> ReadLengthDelimited(out int payloadOffset)
    {
        var at = Offset;
        var length = ReadVarint();
        var remaining = _data.Length - _position;
        if (length > (ulong)remaining)
        {
            throw new PushFormatException($"length {length} at offset {at} exceeds the {remaining} bytes left");
        }

        payloadOffset = Offset;
        var slice = _data.Slice(_position, (int)length);
        _position += (int)length;
        return slice;
    }

    public void Skip(int wireType, int field, string message)
    {
        var at = Offset;
        switch (wireType)
        {
            case ProtoWire.WireVarint:
                ReadVarint();
                break;
            case ProtoWire.WireFixed64:
                Advance(8, at);
                break;
            case ProtoWire.WireLengthDelimited:
                ReadLengthDelimited(out _);
                break;
            case ProtoWire.WireFixed32:
                Advance(4, at);
                break;
            default:
                throw new PushFormatException($"{message}: field {field} at offset {at} has unsupported wire type {wireType}");
        }
    }

    /// <summary>Checks a field of stream <paramref name="stream"/>; the message is only built on error (this runs per entry).</summary>
    public static void ExpectWireType(int actual, int expected, int stream, bool entry, string field, int offset)
    {
        if (actual != expected)
        {
            ExpectWireType(actual, expected, entry ? $"stream {stream} entry" : $"stream {stream}", field, offset);
        }
    }

    public static void ExpectWireType(int actual, int expected, string message, string field, int offset)
    {
        if (actual != expected)
        {
            throw new PushFormatException(
                $"{message}: field '{field}' at offset {offset} has wire type {WireTypeName(actual)}, expected {WireTypeName(expected)}");
        }
    }

    private void Advance(int count, int at)
    {
        if (_data.Length - _position < count)
        {
            throw new PushFormatException($"truncated fixed-width field at offset {at}");
        }

        _position += count;
    }

    private static string WireTypeName(int wireType) => wireType switch
    {
        ProtoWire.WireVarint => "0 (varint)",
        ProtoWire.WireFixed64 => "1 (64-bit)",
        ProtoWire.WireLengthDelimited => "2 (length-delimited)",
        ProtoWire.WireStartGroup => "3 (start group)",
        ProtoWire.WireEndGroup => "4 (end group)",
        ProtoWire.WireFixed32 => "5 (32-bit)",
        _ => $"{wireType} (invalid)",
    };
}
