using Pipeline.Model;

namespace Pipeline.Testing;

/// <summary>A copy of an entry as a sink received it, safe to keep after the pipeline reuses the original.</summary>
/// <param name="Timestamp">Unix nanoseconds.</param>
/// <param name="Line">The line as text.</param>
/// <param name="Labels">The stream labels.</param>
/// <param name="Tenant">The tenant, if any.</param>
/// <param name="Metadata">Structured metadata.</param>
/// <param name="Extracted">Extracted values.</param>
public sealed record CollectedEntry(
    long Timestamp,
    string Line,
    LabelSet Labels,
    string? Tenant,
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyDictionary<string, string> Extracted)
{
    /// <summary>Copies <paramref name="entry"/>.</summary>
    /// <param name="entry">The entry.</param>
    /// <returns>The copy.</returns>
    public static CollectedEntry From(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return new CollectedEntry(
            entry.Timestamp, entry.GetLineString(), entry.Labels, entry.Tenant, ToDictionary(entry.Metadata), ToDictionary(entry.Extracted));
    }

    private static Dictionary<string, string> ToDictionary(LogFields fields)
    {
        var result = new Dictionary<string, string>(fields.Count, StringComparer.Ordinal);
        for (var i = 0; i < fields.Count; i++)
        {
            result[fields.NameAt(i)] = Harness.Utf8(fields.ValueAt(i));
        }

        return result;
    }
}
