using System.Text;
using Pipeline.Model;

namespace Pipeline.Aggregator.LogQL;

/// <summary>
/// A simple in-memory <see cref="ILogQueryStore"/>, for tests, benchmarks and small embedded uses: streams per tenant,
/// each holding its entries sorted by timestamp with the lines packed in one byte arena.
/// </summary>
/// <remarks>Appends and reads may run concurrently; reads see the entries appended before they started.</remarks>
public sealed class InMemoryLogStore : ILogQueryStore
{
    private readonly Dictionary<string, Dictionary<LabelSet, StreamData>> _tenants = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>The number of entries stored, over all tenants.</summary>
    public long EntryCount { get; private set; }

    /// <summary>The number of line bytes stored, over all tenants.</summary>
    public long ByteCount { get; private set; }

    /// <summary>Appends an entry.</summary>
    /// <param name="tenant">The tenant.</param>
    /// <param name="labels">The stream labels.</param>
    /// <param name="timestampNs">Unix nanoseconds.</param>
    /// <param name="line">The line.</param>
    /// <param name="structuredMetadata">Optional structured metadata.</param>
    public void Append(string tenant, LabelSet labels, long timestampNs, string line, LabelSet? structuredMetadata = null)
    {
        ArgumentNullException.ThrowIfNull(line);
        Append(tenant, labels, timestampNs, Encoding.UTF8.GetBytes(line), structuredMetadata);
    }

    /// <summary>Appends an entry.</summary>
    /// <param name="tenant">The tenant.</param>
    /// <param name="labels">The stream labels.</param>
    /// <param name="timestampNs">Unix nanoseconds.</param>
    /// <param name="utf8Line">The line as UTF-8.</param>
    /// <param name="structuredMetadata">Optional structured metadata.</param>
    public void Append(string tenant, LabelSet labels, long timestampNs, ReadOnlySpan<byte> utf8Line, LabelSet? structuredMetadata = null)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(labels);
        lock (_lock)
        {
            if (!_tenants.TryGetValue(tenant, out var streams))
            {
                streams = [];
                _tenants[tenant] = streams;
            }

            if (!streams.TryGetValue(labels, out var stream))
            {
                stream = new StreamData(labels);
                streams[labels] = stream;
            }

            stream.Add(timestampNs, utf8Line, structuredMetadata);
            EntryCount++;
            ByteCount += utf8Line.Length;
        }
    }

    /// <inheritdoc/>
    public IEnumerable<StoredStream> SelectStreams(string tenant, IReadOnlyList<LabelMatcher> matchers, long fromNs, long toNs)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(matchers);
        List<StoredStream> result = [];
        lock (_lock)
        {
            if (!_tenants.TryGetValue(tenant, out var streams))
            {
                return result;
            }

            foreach (var stream in streams.Values)
            {
                if (stream.Overlaps(fromNs, toNs) && MatchesAll(stream.Labels, matchers))
                {
                    result.Add(stream);
                }
            }
        }

        // Deterministic order for callers and tests.
        result.Sort(static (a, b) => string.CompareOrdinal(a.Labels.ToString(), b.Labels.ToString()));
        return result;
    }

    /// <inheritdoc/>
    public IEnumerable<StoredEntry> ReadEntries(string tenant, StoredStream stream, long fromNs, long toNs, Direction direction)
    {
        if (stream is not StreamData memory)
        {
            throw new ArgumentException("the stream does not come from this store", nameof(stream));
        }

        return memory.Read(fromNs, toNs, direction, _lock);
    }

    internal static bool MatchesAll(LabelSet labels, IReadOnlyList<LabelMatcher> matchers)
    {
        for (var i = 0; i < matchers.Count; i++)
        {
            var matcher = matchers[i];
            if (!matcher.Matches(labels[matcher.Name]))
            {
                return false;
            }
        }

        return true;
    }

    private sealed class StreamData(LabelSet labels) : StoredStream(labels)
    {
        private long[] _timestamps = new long[16];
        private int[] _offsets = new int[16];
        private int[] _lengths = new int[16];
        private LabelSet?[]? _metadata;
        private byte[] _arena = new byte[1024];
        private int _arenaUsed;
        private int _count;
        private bool _sorted = true;

        public bool Overlaps(long fromNs, long toNs)
        {
            if (_count == 0)
            {
                return false;
            }

            EnsureSorted();
            return _timestamps[0] < toNs && _timestamps[_count - 1] >= fromNs;
        }

        public void Add(long ts, ReadOnlySpan<byte> line, LabelSet? metadata)
        {
            if (_count == _timestamps.Length)
            {
                Array.Resize(ref _timestamps, _count * 2);
                Array.Resize(ref _offsets, _count * 2);
                Array.Resize(ref _lengths, _count * 2);
                if (_metadata is not null)
                {
                    Array.Resize(ref _metadata, _count * 2);
                }
            }

            if (_arenaUsed + line.Length > _arena.Length)
            {
                Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _arenaUsed + line.Length));
            }

            if (_count > 0 && ts < _timestamps[_count - 1])
            {
                _sorted = false;
            }

            if (metadata is not null && metadata.Count > 0)
            {
                _metadata ??= new LabelSet?[_timestamps.Length];
                _metadata[_count] = metadata;
            }

            line.CopyTo(_arena.AsSpan(_arenaUsed));
            _timestamps[_count] = ts;
            _offsets[_count] = _arenaUsed;
            _lengths[_count] = line.Length;
            _arenaUsed += line.Length;
            _count++;
        }

        private void EnsureSorted()
        {
            if (_sorted)
            {
                return;
            }

            var order = new int[_count];
            for (var i = 0; i < order.Length; i++)
            {
                order[i] = i;
            }

            var ts = _timestamps;
            Array.Sort(order, (a, b) => ts[a] != ts[b] ? ts[a].CompareTo(ts[b]) : a.CompareTo(b));
            var newTs = new long[_timestamps.Length];
            var newOffsets = new int[_timestamps.Length];
            var newLengths = new int[_timestamps.Length];
            var newMeta = _metadata is null ? null : new LabelSet?[_timestamps.Length];
            for (var i = 0; i < order.Length; i++)
            {
                newTs[i] = _timestamps[order[i]];
                newOffsets[i] = _offsets[order[i]];
                newLengths[i] = _lengths[order[i]];
                if (newMeta is not null)
                {
                    newMeta[i] = _metadata![order[i]];
                }
            }

            _timestamps = newTs;
            _offsets = newOffsets;
            _lengths = newLengths;
            _metadata = newMeta;
            _sorted = true;
        }

        public IEnumerable<StoredEntry> Read(long fromNs, long toNs, Direction direction, Lock storeLock)
        {
            long[] timestamps;
            int[] offsets;
            int[] lengths;
            LabelSet?[]? metadata;
            byte[] arena;
            int count;
            lock (storeLock)
            {
                EnsureSorted();
                (timestamps, offsets, lengths, metadata, arena, count) = (_timestamps, _offsets, _lengths, _metadata, _arena, _count);
            }

            var lo = LowerBound(timestamps, count, fromNs);
            var hi = LowerBound(timestamps, count, toNs);
            return direction == Direction.Forward
                ? Forward(lo, hi, timestamps, offsets, lengths, metadata, arena)
                : Backward(lo, hi, timestamps, offsets, lengths, metadata, arena);
        }

        private static IEnumerable<StoredEntry> Forward(int lo, int hi, long[] ts, int[] offsets, int[] lengths, LabelSet?[]? meta, byte[] arena)
        {
            for (var i = lo; i < hi; i++)
            {
                yield return new StoredEntry(ts[i], arena.AsMemory(offsets[i], lengths[i]), meta?[i]);
            }
        }

        private static IEnumerable<StoredEntry> Backward(int lo, int hi, long[] ts, int[] offsets, int[] lengths, LabelSet?[]? meta, byte[] arena)
        {
            for (var i = hi - 1; i >= lo; i--)
            {
                yield return new StoredEntry(ts[i], arena.AsMemory(offsets[i], lengths[i]), meta?[i]);
            }
        }

        private static int LowerBound(long[] ts, int count, long value)
        {
            int lo = 0, hi = count;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (ts[mid] < value)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            return lo;
        }
    }
}
