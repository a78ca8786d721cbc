using Pipeline.Aggregator.LogQL;
using Pipeline.Aggregator.Storage;
using Pipeline.Model;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// Merges blocks whose time ranges may overlap (unordered writes) into one ordered sequence of entries. A block is loaded
/// only when the merge reaches its time range, so memory is bounded by the blocks that overlap in time, not by the query.
/// Identical (timestamp, line) entries from different blocks are returned once.
/// </summary>
internal static class BlockMerge
{
    public static IEnumerable<StoredEntry> Merge(List<BlockSource> sources, long from, long to, Direction direction)
    {
        var forward = direction == Direction.Forward;
        if (forward)
        {
            sources.Sort(static (a, b) => a.MinTs.CompareTo(b.MinTs));
        }
        else
        {
            sources.Sort(static (a, b) => b.MaxTs.CompareTo(a.MaxTs));
        }

        var open = new PriorityQueue<Cursor, Cursor>(forward ? Cursor.ForwardOrder : Cursor.BackwardOrder);
        var next = 0;

        // The entry returned last, to return an entry repeated in another block once. Loaded block data is never reused,
        // so it is compared where it lies instead of being copied.
        BlockEntries? previous = null;
        var previousIndex = 0;
        while (true)
        {
            while (next < sources.Count &&
                   (open.Count == 0 || (forward ? sources[next].MinTs <= open.Peek().Timestamp : sources[next].MaxTs >= open.Peek().Timestamp)))
            {
                var entries = sources[next++].Load();
                if (entries is not null && entries.Count > 0)
                {
                    var cursor = new Cursor(entries, forward, from, to);
                    if (cursor.Valid)
                    {
                        open.Enqueue(cursor, cursor);
                    }
                }
            }

            if (open.Count == 0)
            {
                yield break;
            }

            // Blocks rarely overlap: the current one is read on as long as it stays ahead of the other open blocks and of
            // the next block to load, without going through the queue for each entry.
            var current = open.Dequeue();
            while (true)
            {
                var ts = current.Timestamp;
                var index = current.Index;
                var entries = current.Entries;
                if (previous is null || ts != previous.Timestamps[previousIndex] || !entries.Line(index).SequenceEqual(previous.Line(previousIndex)))
                {
                    previous = entries;
                    previousIndex = index;
                    yield return new StoredEntry(
                        ts,
                        entries.Data.AsMemory(entries.Offsets[index], entries.Lengths[index]),
                        ToLabelSet(entries.Metadata?[index]));
                }

                if (!current.MoveNext())
                {
                    break;
                }

                var aheadOfOpen = open.Count == 0 || (forward ? current.Timestamp < open.Peek().Timestamp : current.Timestamp > open.Peek().Timestamp);
                var aheadOfNext = next >= sources.Count || (forward ? sources[next].MinTs > current.Timestamp : sources[next].MaxTs < current.Timestamp);
                if (!aheadOfOpen || !aheadOfNext)
                {
                    open.Enqueue(current, current);
                    break;
                }
            }
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

    private sealed class Cursor
    {
        public static readonly IComparer<Cursor> ForwardOrder = Comparer<Cursor>.Create(static (a, b) => Compare(a, b));
        public static readonly IComparer<Cursor> BackwardOrder = Comparer<Cursor>.Create(static (a, b) => Compare(b, a));

        private readonly bool _forward;
        private readonly long _from;
        private readonly long _to;

        public Cursor(BlockEntries entries, bool forward, long from, long to)
        {
            Entries = entries;
            _forward = forward;
            _from = from;
            _to = to;
            var timestamps = entries.Timestamps;
            if (forward)
            {
                var i = LowerBound(timestamps, from);
                Index = i;
                Valid = i < timestamps.Length && timestamps[i] < to;
            }
            else
            {
                var i = LowerBound(timestamps, to) - 1;
                Index = i;
                Valid = i >= 0 && timestamps[i] >= from;
            }
        }

        public BlockEntries Entries { get; }

        public int Index { get; private set; }

        public bool Valid { get; }

        public long Timestamp => Entries.Timestamps[Index];

        public bool MoveNext()
        {
            Index += _forward ? 1 : -1;
            if (Index < 0 || Index >= Entries.Count)
            {
                return false;
            }

            var ts = Entries.Timestamps[Index];
            return _forward ? ts < _to : ts >= _from;
        }

        private static int Compare(Cursor a, Cursor b)
        {
            var c = a.Timestamp.CompareTo(b.Timestamp);
            return c != 0 ? c : a.Entries.Line(a.Index).SequenceCompareTo(b.Entries.Line(b.Index));
        }

        private static int LowerBound(long[] timestamps, long value)
        {
            int lo = 0, hi = timestamps.Length;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (timestamps[mid] < value)
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
