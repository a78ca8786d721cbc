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
    public IEnumerable<StoredEntry> ReadEntries(string tenant, StoredStream stream, long fromNs, long toNs, Direction direction)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return _ingester.ReadEntries(tenant, stream.Labels, fromNs, toNs, direction);
    }
}
