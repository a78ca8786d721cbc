using Pipeline.Loki.Protocol;
using Pipeline.Model;

namespace Pipeline.Aggregator.Ingester;

public sealed partial class LogIngester
{
    /// <summary>
    /// Per stream matching every matcher, the chunks overlapping [from, to) with their entry count and uncompressed size,
    /// from the index and the block tables in memory (for <c>index/stats</c> and volumes; no entry is read).
    /// </summary>
    internal List<(LabelSet Stream, List<ChunkStats> Chunks)> ChunkStatistics(string tenant, IReadOnlyList<LabelMatcher> matchers, long fromNs, long toNs)
    {
        LokiTenant.Validate(tenant);
        ArgumentNullException.ThrowIfNull(matchers);
        return _reader.ChunkStatistics(tenant, matchers, fromNs, toNs);
    }
}
