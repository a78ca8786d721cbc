using Pipeline.Model;

namespace Pipeline.Aggregator.Storage;

/// <summary>Structured metadata as WAL records and blocks store it: <c>varint count, (string name, string value)*</c>.</summary>
internal static class MetadataCodec
{
    public static void Write(ByteBuffer buffer, IReadOnlyList<Label>? metadata)
    {
        if (metadata is null)
        {
            buffer.WriteVarint(0);
            return;
        }

        buffer.WriteVarint((ulong)metadata.Count);
        for (var i = 0; i < metadata.Count; i++)
        {
            buffer.WriteString(metadata[i].Name);
            buffer.WriteString(metadata[i].Value);
        }
    }

    /// <summary>Moves past one entry's metadata; false when it has none.</summary>
    public static bool Skip(ref SpanReader reader)
    {
        var count = reader.ReadLength();
        for (var i = 0; i < count; i++)
        {
            reader.ReadBytes(reader.ReadLength());
            reader.ReadBytes(reader.ReadLength());
        }

        return count > 0;
    }

    public static IReadOnlyList<Label>? Read(ref SpanReader reader)
    {
        var count = reader.ReadLength();
        if (count == 0)
        {
            return null;
        }

        var metadata = new Label[count];
        for (var i = 0; i < count; i++)
        {
            metadata[i] = new Label(reader.ReadString(), reader.ReadString());
        }

        return metadata;
    }
}
