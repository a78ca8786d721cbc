using Pipeline.Model;

namespace Pipeline.Aggregator.Storage;

/// <summary>One log entry to store: a timestamp, the line's UTF-8 bytes and optional structured metadata.</summary>
/// <remarks>The ingester copies the bytes; <see cref="Line"/> only has to stay valid until the append returns.</remarks>
public readonly struct IngestEntry
{
    /// <summary>Creates an entry.</summary>
    /// <param name="timestampNs">Unix time in nanoseconds.</param>
    /// <param name="line">The line as UTF-8 bytes.</param>
    /// <param name="metadata">Structured metadata, or <see langword="null"/>.</param>
    public IngestEntry(long timestampNs, ReadOnlyMemory<byte> line, IReadOnlyList<Label>? metadata = null)
    {
        TimestampNs = timestampNs;
        Line = line;
        Metadata = metadata;
    }

    /// <summary>Unix time in nanoseconds.</summary>
    public long TimestampNs { get; }

    /// <summary>The line as UTF-8 bytes.</summary>
    public ReadOnlyMemory<byte> Line { get; }

    /// <summary>Structured metadata (Loki 3), or <see langword="null"/>.</summary>
    public IReadOnlyList<Label>? Metadata { get; }
}
