using System.Buffers;
using Pipeline.Model;

namespace Pipeline.Loki.Protocol;

/// <summary>
/// A decoded push request: its streams, each with validated labels and its entries in order. Lines are slices of
/// one pooled buffer owned by this object: they are valid until <see cref="Dispose"/>.
/// </summary>
public sealed class DecodedPush : IDisposable
{
    private readonly DecodedEntryStore _entries;
    private byte[]? _rented;

    internal DecodedPush(List<DecodedStreamData> streams, DecodedEntryStore entries, byte[]? rented)
    {
        Streams = streams;
        _entries = entries;
        _rented = rented;
        EntryCount = entries.Count;
    }

    /// <summary>The streams, in request order.</summary>
    public IReadOnlyList<DecodedStreamData> Streams { get; }

    /// <summary>The number of entries over all streams.</summary>
    public int EntryCount { get; }

    /// <summary>Returns the pooled buffers that hold the entries and lines; do not read them afterwards.</summary>
    public void Dispose()
    {
        _entries.Return();
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
    private readonly DecodedEntryStore _store;
    private readonly int _start;
    private readonly int _count;

    internal DecodedStreamData(LabelSet labels, DecodedEntryStore store, int start, int count)
    {
        Labels = labels;
        _store = store;
        _start = start;
        _count = count;
    }

    /// <summary>The stream's labels, parsed and validated.</summary>
    public LabelSet Labels { get; }

    /// <summary>The entries, in request order; valid until the push is disposed.</summary>
    public IReadOnlyList<DecodedEntry> Entries => _store.Segment(_start, _count);

    /// <summary>The entries as a span, so the receiver walks them without an interface call per entry.</summary>
    internal ReadOnlySpan<DecodedEntry> EntrySpan => _store.Slice(_start, _count);
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
