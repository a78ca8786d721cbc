using Pipeline.Aggregator.Storage;
using Pipeline.Model;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// The entries of one append as the ingester reads them: streams of entries, read in place (no copy into an
/// intermediate list), each written once, straight into the WAL record.
/// </summary>
internal abstract class AppendSource
{
    public abstract int StreamCount { get; }

    public abstract LabelSet Labels(int stream);

    public abstract int Count(int stream);

    public abstract long Timestamp(int stream, int entry);

    /// <summary>Writes the entry in <see cref="EntryFormat"/>.</summary>
    public abstract void Write(ByteBuffer buffer, int stream, int entry);
}

/// <summary>The streams of the public <see cref="LogIngester.AppendAsync(string, IReadOnlyList{IngestStream}, CancellationToken)"/>.</summary>
internal sealed class IngestStreamSource(IReadOnlyList<IngestStream> streams) : AppendSource
{
    public override int StreamCount => streams.Count;

    public override LabelSet Labels(int stream) => streams[stream].Labels;

    public override int Count(int stream) => streams[stream].Entries.Count;

    public override long Timestamp(int stream, int entry) => streams[stream].Entries[entry].TimestampNs;

    public override void Write(ByteBuffer buffer, int stream, int entry)
    {
        var e = streams[stream].Entries[entry];
        EntryFormat.Write(buffer, e.TimestampNs, e.Line.Span, e.Metadata);
    }
}
