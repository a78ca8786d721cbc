using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Pipeline.Model;

namespace Pipeline.Loki.Protocol;

/// <summary>
/// Accumulates a Loki <c>PushRequest</c>, grouping entries by stream in the order they were added, and writes it as
/// protobuf (exactly the bytes the generated <c>logproto.PushRequest</c> serializer produces) or as Loki's JSON push
/// body. Each entry is encoded once, when it is added, straight from its UTF-8 line bytes into a pooled per-stream
/// buffer, so the caller may reuse the entry right away and a batch costs O(streams), not O(lines), allocations.
/// </summary>
/// <remarks>Not thread-safe. <see cref="Clear"/> keeps the buffers for the next batch; <see cref="Dispose"/> returns them.</remarks>
public sealed class PushRequestBuilder : IDisposable
{
    private const int RetainedStreamBuffer = 64 * 1024;

    private static readonly JsonWriterOptions s_jsonOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = true,
    };

    private readonly Dictionary<LabelSet, StreamBuffer> _byLabels = [];
    private readonly List<StreamBuffer> _streams = [];
    private readonly Stack<StreamBuffer> _free = new();

    // The stream of the last entry: a chunk's entries mostly come from one file and share one label set instance, so
    // most entries find their stream by one reference comparison instead of hashing and comparing their labels.
    private LabelSet? _lastLabels;
    private StreamBuffer? _lastStream;

    /// <summary>The number of streams.</summary>
    public int StreamCount => _streams.Count;

    /// <summary>The number of entries.</summary>
    public int EntryCount { get; private set; }

    /// <summary>The total bytes of the lines added (Loki's measure of ingested volume).</summary>
    public long LineBytes { get; private set; }

    /// <summary>The exact length of the protobuf <see cref="WriteProtobuf(IBufferWriter{byte})"/> writes (kept up to date as entries are added).</summary>
    public long ProtobufLength { get; private set; }

    /// <summary>
    /// An upper bound of how much <see cref="ProtobufLength"/> grows if an entry is added: for batching decisions
    /// before adding.
    /// </summary>
    /// <param name="labels">The stream's labels.</param>
    /// <param name="lineLength">The line length in bytes.</param>
    /// <param name="metadataBytes">The bytes of structured metadata names and values.</param>
    /// <param name="metadataCount">The number of structured metadata pairs.</param>
    /// <returns>The bound in bytes.</returns>
    public long EstimateGrowth(LabelSet labels, int lineLength, int metadataBytes = 0, int metadataCount = 0)
    {
        ArgumentNullException.ThrowIfNull(labels);

        // Entry: tag + length (<= 5) + timestamp (<= 24) + line field + metadata pairs (<= 12 overhead each);
        // the stream's own length prefix may grow by up to 5 bytes.
        long growth = 6 + 24 + 6 + lineLength + metadataBytes + (12L * metadataCount) + 5;
        if (!ReferenceEquals(labels, _lastLabels) && !_byLabels.ContainsKey(labels))
        {
            growth += 6 + (3L * labels.ToString().Length) + 6;
        }

        return growth;
    }

    /// <summary>Adds an entry's timestamp, line and structured metadata to the stream <paramref name="labels"/>.</summary>
    /// <param name="labels">The labels the stream is sent with (internal labels already removed).</param>
    /// <param name="entry">The entry; it is copied, so it may be reused afterwards.</param>
    public void Add(LabelSet labels, LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Add(labels, entry.Timestamp, entry.Line, entry.Metadata);
    }

    /// <summary>Adds an entry to the stream <paramref name="labels"/>.</summary>
    /// <param name="labels">The labels the stream is sent with.</param>
    /// <param name="timestamp">Unix nanoseconds.</param>
    /// <param name="line">The line, UTF-8.</param>
    /// <param name="metadata">Structured metadata, or <see langword="null"/>.</param>
    public void Add(LabelSet labels, long timestamp, ReadOnlySpan<byte> line, LogFields? metadata)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var stream = GetStream(labels);
        var (seconds, nanos) = ProtoWire.SplitTimestamp(timestamp);
        var entryLength = EntryLengthWithoutMetadata(seconds, nanos, line.Length);
        var count = metadata?.Count ?? 0;
        for (var i = 0; i < count; i++)
        {
            var pair = ProtoWire.OptionalStringFieldLength(Encoding.UTF8.GetByteCount(metadata!.NameAt(i)))
                + ProtoWire.OptionalStringFieldLength(metadata.ValueAt(i).Length);
            entryLength += ProtoWire.LengthDelimitedFieldLength(pair);
        }

        var total = ProtoWire.LengthDelimitedFieldLength(entryLength);
        var span = stream.Entries.GetSpan(total);
        var written = WriteEntryStart(span, entryLength, seconds, nanos, line);
        for (var i = 0; i < count; i++)
        {
            var name = metadata!.NameAt(i);
            var value = metadata.ValueAt(i);
            var nameLength = Encoding.UTF8.GetByteCount(name);
            var pair = ProtoWire.OptionalStringFieldLength(nameLength) + ProtoWire.OptionalStringFieldLength(value.Length);
            written += ProtoWire.WriteHeader(span[written..], ProtoWire.TagEntryStructuredMetadata, pair);
            if (nameLength > 0)
            {
                written += ProtoWire.WriteHeader(span[written..], ProtoWire.TagLabelPairName, nameLength);
                written += Encoding.UTF8.GetBytes(name, span[written..]);
            }

            written += ProtoWire.WriteOptionalBytesField(span[written..], ProtoWire.TagLabelPairValue, value);
        }

        Commit(stream, total, written, line.Length);
    }

    /// <summary>Adds an entry with structured metadata given as labels (for re-encoding a decoded push).</summary>
    /// <param name="labels">The labels the stream is sent with.</param>
    /// <param name="timestamp">Unix nanoseconds.</param>
    /// <param name="line">The line, UTF-8.</param>
    /// <param name="metadata">Structured metadata pairs.</param>
    public void Add(LabelSet labels, long timestamp, ReadOnlySpan<byte> line, ReadOnlySpan<Label> metadata)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var stream = GetStream(labels);
        var (seconds, nanos) = ProtoWire.SplitTimestamp(timestamp);
        var entryLength = EntryLengthWithoutMetadata(seconds, nanos, line.Length);
        foreach (var pair in metadata)
        {
            entryLength += ProtoWire.LengthDelimitedFieldLength(PairLength(pair));
        }

        var total = ProtoWire.LengthDelimitedFieldLength(entryLength);
        var span = stream.Entries.GetSpan(total);
        var written = WriteEntryStart(span, entryLength, seconds, nanos, line);
        foreach (var pair in metadata)
        {
            written += ProtoWire.WriteHeader(span[written..], ProtoWire.TagEntryStructuredMetadata, PairLength(pair));
            written += WriteStringField(span[written..], ProtoWire.TagLabelPairName, pair.Name);
            written += WriteStringField(span[written..], ProtoWire.TagLabelPairValue, pair.Value);
        }

        Commit(stream, total, written, line.Length);
    }

    /// <summary>Writes the protobuf <c>PushRequest</c> (uncompressed).</summary>
    /// <param name="output">Where to write; exactly <see cref="ProtobufLength"/> bytes are written.</param>
    public void WriteProtobuf(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        foreach (var stream in _streams)
        {
            var header = stream.Labels.Length == 0 ? 0 : ProtoWire.LengthDelimitedFieldLength(stream.Labels.Length) - stream.Labels.Length;
            var span = output.GetSpan(6 + header + stream.Labels.Length);
            var written = ProtoWire.WriteHeader(span, ProtoWire.TagPushRequestStreams, stream.BodyLength);
            written += ProtoWire.WriteOptionalBytesField(span[written..], ProtoWire.TagStreamLabels, stream.Labels);
            output.Advance(written);
            output.Write(stream.Entries.WrittenSpan);
        }
    }

    /// <summary>Writes the protobuf <c>PushRequest</c> into <paramref name="destination"/>.</summary>
    /// <param name="destination">At least <see cref="ProtobufLength"/> bytes.</param>
    /// <returns>The bytes written.</returns>
    public int WriteProtobuf(Span<byte> destination)
    {
        var written = 0;
        foreach (var stream in _streams)
        {
            written += ProtoWire.WriteHeader(destination[written..], ProtoWire.TagPushRequestStreams, stream.BodyLength);
            written += ProtoWire.WriteOptionalBytesField(destination[written..], ProtoWire.TagStreamLabels, stream.Labels);
            stream.Entries.WrittenSpan.CopyTo(destination[written..]);
            written += stream.Entries.WrittenCount;
        }

        return written;
    }

    /// <summary>
    /// Writes Loki's JSON push body: <c>{"streams":[{"stream":{...},"values":[["&lt;ns&gt;","line",{metadata}]]}]}</c>.
    /// Bytes that are not valid UTF-8 are written as U+FFFD.
    /// </summary>
    /// <param name="output">Where to write.</param>
    public void WriteJson(IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output, s_jsonOptions);
        writer.WriteStartObject();
        writer.WriteStartArray("streams"u8);
        foreach (var stream in _streams)
        {
            writer.WriteStartObject();
            writer.WriteStartObject("stream"u8);
            foreach (var label in stream.LabelSet)
            {
                writer.WriteString(label.Name, label.Value);
            }

            writer.WriteEndObject();
            writer.WriteStartArray("values"u8);
            WriteJsonValues(writer, stream.Entries.WrittenSpan);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
    }

    /// <summary>Removes every stream and entry, keeping buffers of ordinary size for the next batch.</summary>
    public void Clear()
    {
        foreach (var stream in _streams)
        {
            stream.Entries.Clear(RetainedStreamBuffer);
            stream.LabelSet = LabelSet.Empty;
            stream.Labels = [];
            _free.Push(stream);
        }

        _streams.Clear();
        _byLabels.Clear();
        _lastLabels = null;
        _lastStream = null;
        EntryCount = 0;
        LineBytes = 0;
        ProtobufLength = 0;
    }

    /// <summary>Returns every pooled buffer.</summary>
    public void Dispose()
    {
        Clear();
        while (_free.TryPop(out var stream))
        {
            stream.Entries.Dispose();
        }
    }

    private StreamBuffer GetStream(LabelSet labels)
    {
        if (ReferenceEquals(labels, _lastLabels))
        {
            return _lastStream!;
        }

        if (_byLabels.TryGetValue(labels, out var stream))
        {
            _lastLabels = labels;
            _lastStream = stream;
            return stream;
        }

        stream = _free.TryPop(out var reused) ? reused : new StreamBuffer();
        stream.LabelSet = labels;
        stream.Labels = Encoding.UTF8.GetBytes(labels.ToString());
        _byLabels.Add(labels, stream);
        _streams.Add(stream);
        ProtobufLength += StreamFieldLength(stream.BodyLength);
        _lastLabels = labels;
        _lastStream = stream;
        return stream;
    }

    private static int EntryLengthWithoutMetadata(long seconds, int nanos, int lineLength) =>
        ProtoWire.LengthDelimitedFieldLength(ProtoWire.TimestampLength(seconds, nanos)) + ProtoWire.OptionalStringFieldLength(lineLength);

    private static int WriteEntryStart(Span<byte> span, int entryLength, long seconds, int nanos, ReadOnlySpan<byte> line)
    {
        var written = ProtoWire.WriteHeader(span, ProtoWire.TagStreamEntries, entryLength);
        written += ProtoWire.WriteTimestamp(span[written..], seconds, nanos);
        written += ProtoWire.WriteOptionalBytesField(span[written..], ProtoWire.TagEntryLine, line);
        return written;
    }

    private void Commit(StreamBuffer stream, int total, int written, int lineLength)
    {
        if (written != total)
        {
            throw new InvalidOperationException($"Encoded {written} bytes for an entry sized {total}.");
        }

        var before = StreamFieldLength(stream.BodyLength);
        stream.Entries.Advance(total);
        ProtobufLength += StreamFieldLength(stream.BodyLength) - before;
        EntryCount++;
        LineBytes += lineLength;
    }

    private static long StreamFieldLength(int bodyLength) => 1 + ProtoWire.VarintLength((uint)bodyLength) + bodyLength;

    private static int PairLength(Label pair) =>
        ProtoWire.OptionalStringFieldLength(Encoding.UTF8.GetByteCount(pair.Name)) + ProtoWire.OptionalStringFieldLength(Encoding.UTF8.GetByteCount(pair.Value));

    private static int WriteStringField(Span<byte> span, byte tag, string value)
    {
        if (value.Length == 0)
        {
            return 0;
        }

        var length = Encoding.UTF8.GetByteCount(value);
        var written = ProtoWire.WriteHeader(span, tag, length);
        return written + Encoding.UTF8.GetBytes(value, span[written..]);
    }

    private static void WriteJsonValues(Utf8JsonWriter writer, ReadOnlySpan<byte> entries)
    {
        Span<byte> digits = stackalloc byte[24];
        var reader = new ProtoReader(entries);
        while (!reader.End)
        {
            reader.ReadTag("StreamAdapter");
            var entry = new ProtoReader(reader.ReadLengthDelimited(out _));
            long timestamp = 0;
            var line = ReadOnlySpan<byte>.Empty;
            var hasMetadata = false;
            var body = entry;
            while (!entry.End)
            {
                var (field, _) = entry.ReadTag("EntryAdapter");
                var value = entry.ReadLengthDelimited(out _);
                if (field == 1)
                {
                    timestamp = PushRequestDecoder.ReadTimestamp(value, 0);
                }
                else if (field == 2)
                {
                    line = value;
                }
                else if (field == 3)
                {
                    hasMetadata = true;
                }
            }

            writer.WriteStartArray();
            Utf8Formatter.TryFormat(timestamp, digits, out var length);
            writer.WriteStringValue(digits[..length]);
            WriteUtf8(writer, line);
            if (hasMetadata)
            {
                writer.WriteStartObject();
                while (!body.End)
                {
                    var (field, _) = body.ReadTag("EntryAdapter");
                    var value = body.ReadLengthDelimited(out _);
                    if (field != 3)
                    {
                        continue;
                    }

                    var pair = new ProtoReader(value);
                    ReadOnlySpan<byte> name = default, pairValue = default;
                    while (!pair.End)
                    {
                        var (pairField, _) = pair.ReadTag("LabelPairAdapter");
                        var bytes = pair.ReadLengthDelimited(out _);
                        if (pairField == 1)
                        {
                            name = bytes;
                        }
                        else
                        {
                            pairValue = bytes;
                        }
                    }

                    WritePropertyName(writer, name);
                    WriteUtf8(writer, pairValue);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }
    }

    private static void WritePropertyName(Utf8JsonWriter writer, ReadOnlySpan<byte> utf8)
    {
        if (Utf8.IsValid(utf8))
        {
            writer.WritePropertyName(utf8);
        }
        else
        {
            writer.WritePropertyName(Encoding.UTF8.GetString(utf8));
        }
    }

    private static void WriteUtf8(Utf8JsonWriter writer, ReadOnlySpan<byte> utf8)
    {
        if (Utf8.IsValid(utf8))
        {
            writer.WriteStringValue(utf8);
        }
        else
        {
            // Rare: a line that is not valid UTF-8 cannot be a JSON string as is; decoding replaces bad bytes with U+FFFD.
            writer.WriteStringValue(Encoding.UTF8.GetString(utf8));
        }
    }

    private sealed class StreamBuffer
    {
        public LabelSet LabelSet { get; set; } = LabelSet.Empty;

        public byte[] Labels { get; set; } = [];

        public PooledBufferWriter Entries { get; } = new();

        public int BodyLength => ProtoWire.OptionalStringFieldLength(Labels.Length) + Entries.WrittenCount;
    }
}
