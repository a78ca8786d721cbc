using Pipeline.Model;

namespace Pipeline.Aggregator.Ingester;

/// <summary>An entry read back from the store.</summary>
/// <remarks>
/// <see cref="Line"/> points into a decompressed block that the reader reuses: copy it before advancing the enumerator
/// if it must outlive the current step.
/// </remarks>
public readonly struct StoredEntry
{
    internal StoredEntry(long timestampNs, ReadOnlyMemory<byte> line, IReadOnlyList<Label>? metadata)
    {
        TimestampNs = timestampNs;
        Line = line;
        Metadata = metadata;
    }

    /// <summary>Unix time in nanoseconds.</summary>
    public long TimestampNs { get; }

    /// <summary>The line as UTF-8 bytes.</summary>
    public ReadOnlyMemory<byte> Line { get; }

    /// <summary>Structured metadata, or <see langword="null"/>.</summary>
    public IReadOnlyList<Label>? Metadata { get; }
}
