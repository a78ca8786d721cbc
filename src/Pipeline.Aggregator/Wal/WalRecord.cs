using Pipeline.Aggregator.Storage;
using Pipeline.Model;

namespace Pipeline.Aggregator.Wal;

/// <summary>One WAL record: the accepted entries of one push of one tenant, with the record's sequence number.</summary>
internal sealed class WalRecord
{
    public WalRecord(long sequence, string tenant, IReadOnlyList<IngestStream> streams)
    {
        Sequence = sequence;
        Tenant = tenant;
        Streams = streams;
    }

    public long Sequence { get; }

    public string Tenant { get; }

    public IReadOnlyList<IngestStream> Streams { get; }
}

/// <summary>
/// The binary payload of a WAL record (version 1): <c>u8 version, i64 sequence, string tenant, varint streams,
/// per stream { varint labels, (string name, string value)*, varint entries, per entry { i64 ts, bytes line,
/// varint metadata, (string name, string value)* } }</c>; strings and bytes are varint-length-prefixed.
/// </summary>
internal static class WalRecordCodec
{
    public const byte Version = 1;

    public static void Encode(ByteBuffer buffer, long sequence, string tenant, IReadOnlyList<IngestStream> streams)
    {
        buffer.WriteByte(Version);
        buffer.WriteInt64(sequence);
        buffer.WriteString(tenant);
        buffer.WriteVarint((ulong)streams.Count);
        for (var s = 0; s < streams.Count; s++)
        {
            var stream = streams[s];
            var labels = stream.Labels.Labels;
            buffer.WriteVarint((ulong)labels.Length);
            foreach (var label in labels)
            {
                buffer.WriteString(label.Name);
                buffer.WriteString(label.Value);
            }

            var entries = stream.Entries;
            buffer.WriteVarint((ulong)entries.Count);
            for (var e = 0; e < entries.Count; e++)
            {
                var entry = entries[e];
                buffer.WriteInt64(entry.TimestampNs);
                buffer.WriteLengthPrefixed(entry.Line.Span);
                MetadataCodec.Write(buffer, entry.Metadata);
            }
        }
    }

    /// <summary>Decodes a payload; throws <see cref="InvalidDataException"/> when it is not a valid record.</summary>
    public static WalRecord Decode(ReadOnlySpan<byte> payload)
    {
        var reader = new SpanReader(payload);
        var version = reader.ReadByte();
        if (version != Version)
        {
            throw new InvalidDataException($"unknown WAL record version {version}");
        }

        var sequence = reader.ReadInt64();
        var tenant = reader.ReadString();
        var streamCount = reader.ReadLength();
        var streams = new IngestStream[streamCount];
        for (var s = 0; s < streamCount; s++)
        {
            var labelCount = reader.ReadLength();
            var labels = new Label[labelCount];
            for (var i = 0; i < labelCount; i++)
            {
                labels[i] = new Label(reader.ReadString(), reader.ReadString());
            }

            if (!LabelSet.TryCreate(labels, out var set, out var error))
            {
                throw new InvalidDataException($"invalid labels in WAL record {sequence}: {error}");
            }

            var entryCount = reader.ReadLength();
            var entries = new IngestEntry[entryCount];
            for (var e = 0; e < entryCount; e++)
            {
                var ts = reader.ReadInt64();
                var line = reader.ReadLengthPrefixed().ToArray();
                entries[e] = new IngestEntry(ts, line, MetadataCodec.Read(ref reader));
            }

            streams[s] = new IngestStream(set, entries);
        }

        if (reader.Remaining != 0)
        {
            throw new InvalidDataException($"{reader.Remaining} unexpected bytes after WAL record {sequence}");
        }

        return new WalRecord(sequence, tenant, streams);
    }
}
