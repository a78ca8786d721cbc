using System.Buffers;
using Pipeline.Model;

namespace Pipeline.Loki.Protocol;

/// <summary>
/// A decoded push request: its streams, each with validated labels and its entries in order. Lines are slices of
/// one pooled buffer owned by this object: they are valid until <see cref="Dispose"/>.
/// </summary>
public sealed class DecodedPush : IDisposable
{
    private byte[]? _rented;

    internal DecodedPush(List<DecodedStreamData> streams, byte[]? rented)
    {
        Streams = streams;
        _rented = rented;
        foreach (var stream in streams)
        {
            EntryCount += stream.Entries.Count;
        }
    }

    /// <summary>The streams, in request order.</summary>
    public IReadOnlyList<DecodedStreamData> Streams { get; }

    /// <summary>The number of entries over all streams.</summary>
    public int EntryCount { get; }

    /// <summary>Returns the pooled buffer that holds the lines; do not read lines afterwards.</summary>
    public void Dispose()
    {
        var rented = Interlocked.Exchange(ref _rented, null);
        if (rented is not null)
        {
            PushBufferPool.Instance.Return(rented);
        }
    }
}

/// <summary>One stream of a <see cref="DecodedPush"/>.</summary>
public sealed class DecodedStreamData
{
    internal DecodedStreamData(LabelSet labels, List<DecodedEntry> entries)
    {
        Labels = labels;
        EntryList = entries;
    }

    /// <summary>The stream's labels, parsed and validated.</summary>
    public LabelSet Labels { get; }

    /// <summary>The entries, in request order.</summary>
    public IReadOnlyList<DecodedEntry> Entries => EntryList;

    /// <summary>The entries as their list, so the receiver walks them without an interface call per entry.</summary>
    internal List<DecodedEntry> EntryList { get; }
}

/// <summary>One entry of a <see cref="DecodedStreamData"/>.</summary>
public readonly struct DecodedEntry : IEquatable<DecodedEntry>
{
    internal DecodedEntry(long timestamp, ReadOnlyMemory<byte> line, Label[]? structuredMetadata)
    {
        Timestamp = timestamp;
        Line = line;
        StructuredMetadata = structuredMetadata ?? [];
    }

    /// <summary>Unix nanoseconds.</summary>
    public long Timestamp { get; }

    /// <summary>The line as UTF-8 (for protobuf bodies, the bytes as sent), valid until the push is disposed.</summary>
    public ReadOnlyMemory<byte> Line { get; }

    /// <summary>Structured metadata pairs, in request order (empty when none).</summary>
    public IReadOnlyList<Label> StructuredMetadata { get; }

    /// <inheritdoc/>
    public bool Equals(DecodedEntry other) =>
        Timestamp == other.Timestamp && Line.Span.SequenceEqual(other.Line.Span) && StructuredMetadata.SequenceEqual(other.StructuredMetadata);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is DecodedEntry other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Timestamp, Line.Length, StructuredMetadata.Count);

    /// <summary>Compares two entries by content.</summary>
    /// <param name="left">One entry.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they are equal.</returns>
    public static bool operator ==(DecodedEntry left, DecodedEntry right) => left.Equals(right);

    /// <summary>Compares two entries by content.</summary>
    /// <param name="left">One entry.</param>
    /// <param name="right">The other.</param>
    /// <returns>Whether they differ.</returns>
    public static bool operator !=(DecodedEntry left, DecodedEntry right) => !left.Equals(right);
}
