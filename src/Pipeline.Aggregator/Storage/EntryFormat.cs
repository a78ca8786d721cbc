using Pipeline.Model;

namespace Pipeline.Aggregator.Storage;

/// <summary>
/// One entry as blocks and WAL records hold it: <c>i64 ts, varint line length, line, varint metadata count,
/// (string name, string value)*</c>. The same bytes go from the WAL record into the head block and, once sorted, into the
/// compressed block.
/// </summary>
internal static class EntryFormat
{
    public static void Write(ByteBuffer buffer, long timestamp, ReadOnlySpan<byte> line, IReadOnlyList<Label>? metadata)
    {
        buffer.WriteInt64(timestamp);
        buffer.WriteLengthPrefixed(line);
        MetadataCodec.Write(buffer, metadata);
    }

    public static void Write(ByteBuffer buffer, long timestamp, ReadOnlySpan<byte> line, LogFields metadata)
    {
        if (metadata.Count == 0)
        {
            // The usual entry, written with one reservation of the buffer (once per entry on the ingest path).
            var span = buffer.GetSpan(8 + 5 + line.Length + 1);
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(span, timestamp);
            var written = 8;
            var length = (uint)line.Length;
            while (length >= 0x80)
            {
                span[written++] = (byte)(length | 0x80);
                length >>= 7;
            }

            span[written++] = (byte)length;
            line.CopyTo(span[written..]);
            written += line.Length;
            span[written++] = 0;
            buffer.Advance(written);
            return;
        }

        buffer.WriteInt64(timestamp);
        buffer.WriteLengthPrefixed(line);
        var count = metadata.Count;
        buffer.WriteVarint((ulong)count);
        for (var i = 0; i < count; i++)
        {
            buffer.WriteString(metadata.NameAt(i));
            buffer.WriteLengthPrefixed(metadata.ValueAt(i));
        }
    }

    /// <summary>Reads the entry at <paramref name="position"/>; returns where the next one starts.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a whole entry.</exception>
    public static int Next(ReadOnlySpan<byte> data, int position, out long timestamp, out int lineStart, out int lineLength)
    {
        // Runs once per entry stored: the usual shape (short line length, no metadata) is read without the general reader.
        if ((uint)position <= (uint)data.Length && data.Length - position >= 10)
        {
            timestamp = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(data[position..]);
            var at = position + 8;
            int length = data[at];
            var header = 1;
            if (length >= 0x80)
            {
                var second = data[at + 1];
                if (second < 0x80)
                {
                    length = (length & 0x7F) | (second << 7);
                    header = 2;
                }
                else
                {
                    header = 0;
                }
            }

            if (header > 0)
            {
                lineStart = at + header;
                lineLength = length;
                var end = lineStart + length;
                if (end < data.Length && data[end] == 0)
                {
                    return end + 1;
                }
            }
        }

        var reader = new SpanReader(data[position..]);
        timestamp = reader.ReadInt64();
        lineLength = reader.ReadLength();
        lineStart = position + reader.Position;
        reader.ReadBytes(lineLength);
        var metadata = reader.ReadLength();
        for (var i = 0; i < metadata * 2; i++)
        {
            reader.ReadLengthPrefixed();
        }

        return position + reader.Position;
    }
}
