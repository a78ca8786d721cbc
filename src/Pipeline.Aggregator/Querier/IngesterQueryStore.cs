using Pipeline.Aggregator.Ingester;
using Pipeline.Aggregator.LogQL;
using Pipeline.Model;

namespace Pipeline.Aggregator.Querier;

/// <summary>
/// Lets the LogQL engine read a <see cref="LogIngester"/>: streams come from its label index (and memory), entries are
/// read block by block as the engine enumerates them, so a query that stops early never decompresses the rest.
/// </summary>
public sealed class IngesterQueryStore : ILogQueryStore
{
    private readonly LogIngester _ingester;

    /// <summary>Creates the adapter.</summary>
    /// <param name="ingester">The store to read.</param>
    public IngesterQueryStore(LogIngester ingester)
    {
        ArgumentNullException.ThrowIfNull(ingester);
        _ingester = ingester;
    }

    /// <inheritdoc/>
    public IEnumerable<StoredStream> SelectStreams(string tenant, IReadOnlyList<LabelMatcher> matchers, long fromNs, long toNs)
    {
        var streams = _ingester.SelectStreams(tenant, matchers, fromNs, toNs);
        var result = new StoredStream[streams.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = new StoredStream(streams[i]);
        }

        return result;
    }

    /// <inheritdoc/>
    public IEnumerable<LogQL.StoredEntry> ReadEntries(string tenant, StoredStream stream, long fromNs, long toNs, Direction direction)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return Read(_ingester.ReadEntries(tenant, stream.Labels, fromNs, toNs, direction));
    }

    private static IEnumerable<LogQL.StoredEntry> Read(IEnumerable<Ingester.StoredEntry> entries)
    {
        foreach (var entry in entries)
        {
            yield return new LogQL.StoredEntry(entry.TimestampNs, entry.Line, ToLabelSet(entry.Metadata));
        }
    }

    private static LabelSet? ToLabelSet(IReadOnlyList<Label>? metadata)
    {
        if (metadata is null || metadata.Count == 0)
        {
            return null;
        }

        if (metadata is LabelSet set)
        {
            return set;
        }

        var labels = new Label[metadata.Count];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = metadata[i];
        }

        return LabelSet.TryCreate(labels, out var created, out _) ? created : null;
    }
}
