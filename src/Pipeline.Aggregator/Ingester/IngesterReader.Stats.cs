using Pipeline.Aggregator.Index;
using Pipeline.Model;

namespace Pipeline.Aggregator.Ingester;

/// <summary>What a chunk (flushed, or still open in memory) holds, as its index entry or its blocks' tables say.</summary>
/// <param name="MinTs">Oldest entry, Unix ns.</param>
/// <param name="MaxTs">Newest entry, Unix ns.</param>
/// <param name="Entries">Entries held.</param>
/// <param name="Bytes">Bytes of the entries uncompressed (Loki's chunk size for <c>index/stats</c> and volumes).</param>
internal readonly record struct ChunkStats(long MinTs, long MaxTs, long Entries, long Bytes)
{
    /// <summary>
    /// Loki's share of a chunk that lies in [from, through] (both inclusive): the part of its time span inside, assuming
    /// entries spread evenly; a chunk of one instant counts whole.
    /// </summary>
    public double FactorIn(long from, long through)
    {
        if (from > MaxTs || through < MinTs)
        {
            return 0;
        }

        if (MinTs == MaxTs)
        {
            return 1;
        }

        var total = (double)(MaxTs - MinTs);
        var leading = Math.Max(0, from - MinTs);
        var trailing = Math.Max(0, MaxTs - through);
        return (total - leading - trailing) / total;
    }
}

internal sealed partial class IngesterReader
{
    /// <summary>
    /// The chunks of each stream of the tenant matching every matcher that overlap [from, to), from the index and the
    /// blocks' tables in memory — no entry is read.
    /// </summary>
    public List<(LabelSet Stream, List<ChunkStats> Chunks)> ChunkStatistics(string tenant, IReadOnlyList<LabelMatcher> matchers, long fromNs, long toNs)
    {
        var result = new Dictionary<LabelSet, List<ChunkStats>>();
        if (!state.TryGetTenant(tenant, out var tenantState) || fromNs >= toNs)
        {
            return [];
        }

        var flushed = new HashSet<LabelSet>();
        tenantState.Index.Select(matchers, fromNs, toNs, flushed);
        foreach (var stream in flushed)
        {
            var chunks = new List<ChunkStats>();
            foreach (var chunk in tenantState.Index.Chunks(stream, fromNs, toNs))
            {
                // Index entries written before chunks recorded their uncompressed size: the file size stands in.
                chunks.Add(new ChunkStats(chunk.MinTs, chunk.MaxTs, chunk.Entries, chunk.UncompressedBytes > 0 ? chunk.UncompressedBytes : chunk.Size));
            }

            result[stream] = chunks;
        }

        lock (tenantState.Gate)
        {
            foreach (var stream in tenantState.Streams.Values)
            {
                if (!TenantIndex.Matches(stream.Labels, matchers))
                {
                    continue;
                }

                List<ChunkStats>? chunks = null;
                result.TryGetValue(stream.Labels, out var indexed);
                foreach (var chunk in stream.Closed)
                {
                    // A chunk being flushed is in the index before it leaves memory: count it once.
                    if (indexed is null || !indexed.Exists(c => c.MinTs == chunk.MinTs && c.MaxTs == chunk.MaxTs))
                    {
                        AddOpen(ref chunks, chunk, fromNs, toNs);
                    }
                }

                if (stream.Current is { } current)
                {
                    AddOpen(ref chunks, current, fromNs, toNs);
                }

                if (chunks is not null)
                {
                    if (result.TryGetValue(stream.Labels, out var existing))
                    {
                        existing.AddRange(chunks);
                    }
                    else
                    {
                        result[stream.Labels] = chunks;
                    }
                }
            }
        }

        var list = new List<(LabelSet, List<ChunkStats>)>(result.Count);
        foreach (var (labels, chunks) in result)
        {
            list.Add((labels, chunks));
        }

        list.Sort(static (a, b) => string.CompareOrdinal(a.Item1.ToString(), b.Item1.ToString()));
        return list;
    }

    /// <summary>Under the gate: an open chunk's totals from its block tables and its head.</summary>
    private static void AddOpen(ref List<ChunkStats>? chunks, OpenChunk chunk, long from, long to)
    {
        if (!(chunk.MinTs < to && chunk.MaxTs >= from))
        {
            return;
        }

        long entries = chunk.Head.Count, bytes = chunk.Head.UncompressedBytes;
        if (chunk.File is { } file)
        {
            foreach (var block in file.Blocks)
            {
                entries += block.Count;
                bytes += block.UncompressedLength;
            }
        }

        foreach (var block in chunk.Unwritten)
        {
            entries += block.Count;
            bytes += block.UncompressedLength;
        }

        if (entries > 0)
        {
            (chunks ??= []).Add(new ChunkStats(chunk.MinTs, chunk.MaxTs, entries, bytes));
        }
    }
}
