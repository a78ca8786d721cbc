using System.Numerics;

namespace Pipeline.Loki.Protocol;

/// <summary>Protobuf wire-format primitives and the field tags of Loki's push messages.</summary>
internal static class ProtoWire
{
    public const int WireVarint = 0;
    public const int WireFixed64 = 1;
    public const int WireLengthDelimited = 2;
    public const int WireStartGroup = 3;
    public const int WireEndGroup = 4;
    public const int WireFixed32 = 5;

    // Tags are (field << 3) | wire type; every field Loki's push uses fits in one byte.
    public const byte TagPushRequestStreams = (1 << 3) | WireLengthDelimited;
    public const byte TagStreamLabels = (1 << 3) | WireLengthDelimited;
    public const byte TagStreamEntries = (2 << 3) | WireLengthDelimited;
    public const byte TagEntryTimestamp = (1 << 3) | WireLengthDelimited;
    public const byte TagEntryLine = (2 << 3) | WireLengthDelimited;
    public const byte TagEntryStructuredMetadata = (3 << 3) | WireLengthDelimited;
    public const byte TagTimestampSeconds = (1 << 3) | WireVarint;
    public const byte TagTimestampNanos = (2 << 3) | WireVarint;
    public const byte TagLabelPairName = (1 << 3) | WireLengthDelimited;
    public const byte TagLabelPairValue = (2 << 3) | WireLengthDelimited;

    public const long NanosPerSecond = 1_000_000_000;

    /// <summary>Bytes a varint of <paramref name="value"/> takes (1 to 10).</summary>
    public static int VarintLength(ulong value) => ((BitOperations.Log2(value | 1) * 9) + 73) / 64;

    /// <summary>Bytes a length-delimited field of <paramref name="length"/> payload bytes takes, tag included.</summary>
    public static int LengthDelimitedFieldLength(int length) => 1 + VarintLength((uint)length) + length;

    /// <summary>Bytes a string field takes; proto3 leaves an empty string out.</summary>
    public static int OptionalStringFieldLength(int length) => length == 0 ? 0 : LengthDelimitedFieldLength(length);

    /// <summary>Splits Unix nanoseconds into google.protobuf.Timestamp seconds and non-negative nanos.</summary>
    public static (long Seconds, int Nanos) SplitTimestamp(long unixNanos)
    {
        var seconds = Math.DivRem(unixNanos, NanosPerSecond, out var nanos);
        if (nanos < 0)
        {
            seconds--;
            nanos += NanosPerSecond;
        }

        return (seconds, (int)nanos);
    }

    /// <summary>The payload length of a Timestamp message.</summary>
    public static int TimestampLength(long seconds, int nanos) =>
        (seconds != 0 ? 1 + VarintLength((ulong)seconds) : 0) + (nanos != 0 ? 1 + VarintLength((ulong)(long)nanos) : 0);

    public static int WriteVarint(Span<byte> destination, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    public static int WriteTimestamp(Span<byte> destination, long seconds, int nanos)
    {
        var length = TimestampLength(seconds, nanos);
        destination[0] = TagEntryTimestamp;
        var i = 1 + WriteVarint(destination[1..], (uint)length);
        if (seconds != 0)
        {
            destination[i++] = TagTimestampSeconds;
            i += WriteVarint(destination[i..], (ulong)seconds);
        }

        if (nanos != 0)
        {
            destination[i++] = TagTimestampNanos;
            i += WriteVarint(destination[i..], (ulong)(long)nanos);
        }

        return i;
    }

    /// <summary>Writes tag, length and bytes; returns the bytes written.</summary>
    public static int WriteBytesField(Span<byte> destination, byte tag, ReadOnlySpan<byte> value)
    {
        destination[0] = tag;
        var i = 1 + WriteVarint(destination[1..], (uint)value.Length);
        value.CopyTo(destination[i..]);
        return i + value.Length;
    }

    /// <summary>Writes a string field unless it is empty (proto3 default); returns the bytes written.</summary>
    public static int WriteOptionalBytesField(Span<byte> destination, byte tag, ReadOnlySpan<byte> value) =>
        value.IsEmpty ? 0 : WriteBytesField(destination, tag, value);

    /// <summary>Writes a tag and a length prefix; returns the bytes written.</summary>
    public static int WriteHeader(Span<byte> destination, byte tag, int length)
    {
        destination[0] = tag;
        return 1 + WriteVarint(destination[1..], (uint)length);
    }
}
