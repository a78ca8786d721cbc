using Microsoft.Extensions.Logging;
using Pipeline.Aggregator.Index;
using Pipeline.Aggregator.LogQL;
using Pipeline.Aggregator.Storage;
using Pipeline.Model;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// The read side of the ingester: streams by label matchers, label names and values, and a stream's entries across head
/// blocks, blocks of chunk files still open (or held in memory) and indexed chunk files, merged in time order.
/// </summary>
internal sealed partial class IngesterReader(IngesterState state, ILogger logger)
{
    public IReadOnlyList<LabelSet> SelectStreams(string tenant, IReadOnlyList<LabelMatcher> matchers, long fromNs, long toNs)
    {
        if (!state.TryGetTenant(tenant, out var tenantState))
        {
            return [];
        }

        var found = new HashSet<LabelSet>();
        tenantState.Index.Select(matchers, fromNs, toNs, found);
        lock (tenantState.Gate)
        {
            foreach (var stream in tenantState.Streams.Values)
            {
                if (!found.Contains(stream.Labels) && OverlapsInMemory(stream, fromNs, toNs) && TenantIndex.Matches(stream.Labels, matchers))
                {
                    found.Add(stream.Labels);
                }
            }
        }

        var result = found.ToList();
        result.Sort(static (a, b) => string.CompareOrdinal(a.ToString(), b.ToString()));
        return result;
    }

    public IEnumerable<StoredEntry> ReadEntries(string tenant, LabelSet stream, long fromNs, long toNs, Direction direction)
    {
        if (!state.TryGetTenant(tenant, out var tenantState) || fromNs >= toNs)
        {
            return [];
        }

        var sources = new List<BlockSource>();
        foreach (var chunk in tenantState.Index.Chunks(stream, fromNs, toNs))
        {
            var path = state.Store.ChunkPath(tenant, stream.Fingerprint, chunk);
            ChunkHeader header;
            long dataOffset;
            try
            {
                header = ChunkFile.ReadHeader(path, out dataOffset);
            }
            catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                LogChunkUnreadable(logger, path, ex.Message);
                continue;
            }

            foreach (var block in header.Blocks)
            {
                if (block.MinTs < toNs && block.MaxTs >= fromNs)
                {
                    sources.Add(new FileBlockSource(path, dataOffset, block, header.Framed));
                }
            }
        }

        lock (tenantState.Gate)
        {
            if (tenantState.Streams.TryGetValue(stream, out var memory))
            {
                foreach (var chunk in memory.Closed)
                {
                    AddOpenSources(sources, chunk, fromNs, toNs);
                }

                if (memory.Current is { } current)
                {
                    AddOpenSources(sources, current, fromNs, toNs);
                }
            }
        }

        return BlockMerge.Merge(sources, fromNs, toNs, direction);
    }

    public IReadOnlyList<string> LabelNames(string tenant)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        if (state.TryGetTenant(tenant, out var tenantState))
        {
            tenantState.Index.LabelNames(names);
            lock (tenantState.Gate)
            {
                foreach (var stream in tenantState.Streams.Values)
                {
                    foreach (var label in stream.Labels)
                    {
                        names.Add(label.Name);
                    }
                }
            }
        }

        var result = names.ToList();
        result.Sort(StringComparer.Ordinal);
        return result;
    }

    public IReadOnlyList<string> LabelValues(string tenant, string name)
    {
        var values = new HashSet<string>(StringComparer.Ordinal);
        if (state.TryGetTenant(tenant, out var tenantState))
        {
            tenantState.Index.LabelValues(name, values);
            lock (tenantState.Gate)
            {
                foreach (var stream in tenantState.Streams.Values)
                {
                    if (stream.Labels[name] is { } value)
                    {
                        values.Add(value);
                    }
                }
            }
        }

        var result = values.ToList();
        result.Sort(StringComparer.Ordinal);
        return result;
    }

    private static bool OverlapsInMemory(StreamState stream, long from, long to)
    {
        foreach (var chunk in stream.Closed)
        {
            if (chunk.MinTs < to && chunk.MaxTs >= from)
            {
                return true;
            }
        }

        return stream.Current is { } current && current.MinTs < to && current.MaxTs >= from;
    }

    /// <summary>Under the gate: the chunk's blocks in its open file, its blocks held in memory, and a copy of its head.</summary>
    private static void AddOpenSources(List<BlockSource> sources, OpenChunk chunk, long from, long to)
    {
        if (chunk.File is { } file)
        {
            foreach (var block in file.Blocks)
            {
                if (block.MinTs < to && block.MaxTs >= from)
                {
                    sources.Add(new OpenFileBlockSource(file, block));
                }
            }
        }

        foreach (var block in chunk.Unwritten)
        {
            if (block.MinTs < to && block.MaxTs >= from)
            {
                sources.Add(new MemoryBlockSource(block));
            }
        }

        if (chunk.Head.Snapshot(from, to) is { } head)
        {
            sources.Add(new DecodedBlockSource(head, head.Timestamps[0], head.Timestamps[^1]));
        }
    }

    [LoggerMessage(23, LogLevel.Warning, "Chunk {Path} cannot be read and is skipped: {Reason}")]
    private static partial void LogChunkUnreadable(ILogger logger, string path, string reason);
}
