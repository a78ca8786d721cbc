using Pipeline.Model;

namespace Pipeline.Aggregator.LogQL;

/// <summary>What the LogQL engine needs from a log store: find streams by label matchers, read their entries lazily.</summary>
public interface ILogQueryStore
{
    /// <summary>The streams of <paramref name="tenant"/> whose labels match all <paramref name="matchers"/> and that may hold entries in [<paramref name="fromNs"/>, <paramref name="toNs"/>).</summary>
    /// <param name="tenant">The tenant; nothing of another tenant may be returned.</param>
    /// <param name="matchers">The matchers; equality matchers (<see cref="LabelMatcher.IsIndexable"/>) can be answered by an index.</param>
    /// <param name="fromNs">Start of the time range, Unix ns, inclusive.</param>
    /// <param name="toNs">End of the time range, Unix ns, exclusive.</param>
    /// <returns>The matching streams.</returns>
    IEnumerable<StoredStream> SelectStreams(string tenant, IReadOnlyList<LabelMatcher> matchers, long fromNs, long toNs);

    /// <summary>
    /// The entries of one stream in [<paramref name="fromNs"/>, <paramref name="toNs"/>), in <paramref name="direction"/> order,
    /// produced lazily (block by block) so that a query stopping early never loads the rest.
    /// </summary>
    /// <param name="tenant">The tenant.</param>
    /// <param name="stream">A stream returned by <see cref="SelectStreams"/>.</param>
    /// <param name="fromNs">Start, Unix ns, inclusive.</param>
    /// <param name="toNs">End, Unix ns, exclusive.</param>
    /// <param name="direction">Oldest first (<see cref="Direction.Forward"/>) or newest first.</param>
    /// <returns>The entries; each entry's line is valid until the enumerator advances.</returns>
    IEnumerable<StoredEntry> ReadEntries(string tenant, StoredStream stream, long fromNs, long toNs, Direction direction);
}
