using Pipeline.Aggregator.Storage;
using Pipeline.Model;

namespace Pipeline.Aggregator.Wal;

/// <summary>
/// One WAL record as replay hands it over: the accepted entries of one append of one tenant, with the record's sequence
/// number. <see cref="Payload"/> (version 2 encoding) is only valid while the replay callback runs.
/// </summary>
internal sealed class WalRecord
{
    private IReadOnlyList<IngestStream>? _streams;

    public WalRecord(long sequence, string tenant, ReadOnlyMemory<byte> payload)
    {
        Sequence = sequence;
        Tenant = tenant;
        Payload = payload;
    }

    public long Sequence { get; }

    public string Tenant { get; }

    /// <summary>The record's bytes (<see cref="WalRecordCodec"/>, version 2).</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>The streams decoded into copies (for tests and diagnostics; the ingester reads <see cref="Payload"/>).</summary>
    public IReadOnlyList<IngestStream> Streams => _streams ??= WalRecordCodec.DecodeStreams(Payload.Span);
}

/// <summary>
/// The binary payload of a WAL record. Version 2: <c>u8 version, i64 sequence, string tenant, i32 streams, per stream
/// { varint labels, (string name, string value)*, i32 entries, i32 uncompressed bytes, i32 frame bytes, frame }</c>: a
/// stream's entries in the block format (<see cref="EntryFormat"/>) compressed as one block frame
/// (<see cref="CompressedBlock.WriteFrame"/>), which the ingester keeps as it is in the stream's head block — so the WAL
/// is written compressed and a head whose entries came in order becomes a block without being compressed again. Strings
/// are varint-length-prefixed. Version 1 records (uncompressed, varint counts; earlier versions) are still replayed.
/// </summary>
internal static class WalRecordCodec
{
    public const byte Version = 2;
    private const byte Version1 = 1;

    /// <summary>Starts a record; returns where its stream count goes, for <see cref="EndRecord"/>.</summary>
    public static int BeginRecord(ByteBuffer buffer, long sequence, string tenant)
    {
        buffer.WriteByte(Version);
        buffer.WriteInt64(sequence);
        buffer.WriteString(tenant);
        var at = buffer.Length;
        buffer.WriteInt32(0);
        return at;
    }

    /// <summary>Starts a stream's section; returns where its counts go, for <see cref="EndStream"/>.</summary>
    public static int BeginStream(ByteBuffer buffer, LabelSet labels)
    {
        var list = labels.Labels;
        buffer.WriteVarint((ulong)list.Length);
        foreach (var label in list)
        {
            buffer.WriteString(label.Name);
            buffer.WriteString(label.Value);
        }

        var at = buffer.Length;
        buffer.WriteInt64(0);
        buffer.WriteInt32(0);
        return at;
    }

    /// <summary>Ends a stream's section with its <paramref name="entries"/> entries, given uncompressed, compressed as one frame.</summary>
    public static void EndStream(ByteBuffer buffer, int at, int entries, ReadOnlySpan<byte> uncompressed)
    {
        var span = buffer.GetSpan(CompressedBlock.MaxFrameLength(uncompressed.Length));
        var frame = CompressedBlock.WriteFrame(uncompressed, span);
        buffer.Advance(frame);
        buffer.PatchInt32(at, entries);
        buffer.PatchInt32(at + 4, uncompressed.Length);
        buffer.PatchInt32(at + 8, frame);
    }

    public static void EndRecord(ByteBuffer buffer, int at, int streams) => buffer.PatchInt32(at, streams);

    /// <summary>Encodes a whole record (tests, and replaying version 1 records).</summary>
    public static void Encode(ByteBuffer buffer, long sequence, string tenant, IReadOnlyList<IngestStream> streams)
    {
        using var scratch = new ByteBuffer();
        var record = BeginRecord(buffer, sequence, tenant);
        for (var s = 0; s < streams.Count; s++)
        {
            var stream = streams[s];
            var at = BeginStream(buffer, stream.Labels);
            var entries = stream.Entries;
            scratch.Clear();
            for (var e = 0; e < entries.Count; e++)
            {
                var entry = entries[e];
                EntryFormat.Write(scratch, entry.TimestampNs, entry.Line.Span, entry.Metadata);
            }

            EndStream(buffer, at, entries.Count, scratch.WrittenSpan);
        }

        EndRecord(buffer, record, streams.Count);
    }

    /// <summary>Reads a record's sequence and tenant; throws <see cref="InvalidDataException"/> when it is not a record.</summary>
    public static (long Sequence, string Tenant, byte Version) ReadHeader(ReadOnlySpan<byte> payload)
    {
        var reader = new SpanReader(payload);
        var version = reader.ReadByte();
        if (version is not (Version or Version1))
        {
            throw new InvalidDataException($"unknown WAL record version {version}");
        }

        return (reader.ReadInt64(), reader.ReadString(), version);
    }

    /// <summary>Checks that a version 2 payload is well formed from end to end, so that applying it cannot fail half way.</summary>
    public static void Validate(ReadOnlySpan<byte> payload)
    {
        var reader = new WalRecordReader(payload);
        while (reader.NextStream(out var labels, out var count, out var uncompressed, out var frame))
        {
            _ = ReadLabels(labels);
            var entries = CompressedBlock.Decompress(frame, uncompressed);
            var position = 0;
            for (var e = 0; e < count; e++)
            {
                position = EntryFormat.Next(entries, position, out _, out _, out _);
            }

            if (position != entries.Length)
            {
                throw new InvalidDataException($"{entries.Length - position} unexpected bytes after the {count} entries of a stream");
            }
        }
    }

    /// <summary>Converts a version 1 payload into version 2.</summary>
    public static void Upgrade(ReadOnlySpan<byte> version1, ByteBuffer into)
    {
        var (sequence, tenant, _) = ReadHeader(version1);
        Encode(into, sequence, tenant, DecodeVersion1(version1));
    }

    /// <summary>Decodes the streams of a version 2 payload into copies.</summary>
    public static IReadOnlyList<IngestStream> DecodeStreams(ReadOnlySpan<byte> payload)
    {
        var streams = new List<IngestStream>();
        var reader = new WalRecordReader(payload);
        while (reader.NextStream(out var labels, out var count, out var uncompressed, out var frame))
        {
            var entries = new IngestEntry[count];
            var block = BlockEntries.Parse(CompressedBlock.Decompress(frame, uncompressed), count);
            for (var e = 0; e < count; e++)
            {
                entries[e] = new IngestEntry(block.Timestamps[e], block.Line(e).ToArray(), block.Metadata?[e]);
            }

            streams.Add(new IngestStream(ReadLabels(labels), entries));
        }

        return streams;
    }

    /// <summary>Decodes a whole payload (tests).</summary>
    public static WalRecord Decode(ReadOnlySpan<byte> payload)
    {
        var (sequence, tenant, version) = ReadHeader(payload);
        var bytes = payload.ToArray();
        if (version == Version1)
        {
            using var upgraded = new ByteBuffer(bytes.Length + 64);
            Upgrade(bytes, upgraded);
            bytes = upgraded.WrittenSpan.ToArray();
        }

        Validate(bytes);
        return new WalRecord(sequence, tenant, bytes);
    }

    public static LabelSet ReadLabels(ReadOnlySpan<byte> section)
    {
        var reader = new SpanReader(section);
        var labels = ChunkFile.ReadLabels(ref reader);
        if (reader.Remaining != 0)
        {
            throw new InvalidDataException("unexpected bytes after a stream's labels");
        }

        return labels;
    }

    private static IngestStream[] DecodeVersion1(ReadOnlySpan<byte> payload)
    {
        var reader = new SpanReader(payload);
        reader.ReadByte();
        var sequence = reader.ReadInt64();
        reader.ReadString();
        var streamCount = reader.ReadLength();
        var streams = new IngestStream[streamCount];
        for (var s = 0; s < streamCount; s++)
        {
            var labels = ChunkFile.ReadLabels(ref reader);
            var entryCount = reader.ReadLength();
            var entries = new IngestEntry[entryCount];
            for (var e = 0; e < entryCount; e++)
            {
                var ts = reader.ReadInt64();
                var line = reader.ReadLengthPrefixed().ToArray();
                entries[e] = new IngestEntry(ts, line, MetadataCodec.Read(ref reader));
            }

            streams[s] = new IngestStream(labels, entries);
        }

        if (reader.Remaining != 0)
        {
            throw new InvalidDataException($"{reader.Remaining} unexpected bytes after WAL record {sequence}");
        }

        return streams;
    }
}

/// <summary>Walks the streams of a version 2 WAL record without copying: each stream's labels and its entries' bytes.</summary>
internal ref struct WalRecordReader
{
    private readonly ReadOnlySpan<byte> _payload;
    private int _position;
    private int _left;

    public WalRecordReader(ReadOnlySpan<byte> payload)
    {
        _payload = payload;
        var reader = new SpanReader(payload);
        if (reader.ReadByte() != WalRecordCodec.Version)
        {
            throw new InvalidDataException("not a version 2 WAL record");
        }

        reader.ReadInt64();
        reader.ReadLengthPrefixed();
        _left = reader.ReadInt32();
        if (_left < 0)
        {
            throw new InvalidDataException($"impossible stream count {_left}");
        }

        _position = reader.Position;
    }

    /// <summary>The next stream: its encoded labels, its entry count, their uncompressed size and their compressed frame.</summary>
    public bool NextStream(out ReadOnlySpan<byte> labels, out int entries, out int uncompressed, out ReadOnlySpan<byte> frame)
    {
        if (_left == 0)
        {
            if (_position != _payload.Length)
            {
                throw new InvalidDataException($"{_payload.Length - _position} unexpected bytes after the last stream");
            }

            labels = default;
            frame = default;
            entries = 0;
            uncompressed = 0;
            return false;
        }

        _left--;
        var reader = new SpanReader(_payload[_position..]);
        var count = reader.ReadLength();
        for (var i = 0; i < count * 2; i++)
        {
            reader.ReadLengthPrefixed();
        }

        labels = _payload.Slice(_position, reader.Position);
        entries = reader.ReadInt32();
        uncompressed = reader.ReadInt32();
        var length = reader.ReadInt32();
        if (entries < 0 || uncompressed < 0 || length < 0)
        {
            throw new InvalidDataException($"impossible entry count {entries} or lengths {uncompressed}, {length}");
        }

        frame = reader.ReadBytes(length);
        _position += reader.Position;
        return true;
    }
}
