using Pipeline.Model;

namespace Pipeline.Aggregator.LogQL;

/// <summary>One entry read back from a store.</summary>
/// <param name="Timestamp">Unix nanoseconds.</param>
/// <param name="Line">The UTF-8 line. It may point into a reused block buffer: valid only until the enumerator moves on.</param>
/// <param name="StructuredMetadata">The entry's structured metadata, or <see langword="null"/> when it has none.</param>
public readonly record struct StoredEntry(long Timestamp, ReadOnlyMemory<byte> Line, LabelSet? StructuredMetadata = null);
