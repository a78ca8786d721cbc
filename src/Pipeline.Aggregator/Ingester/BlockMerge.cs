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
        var metadataSets = new RecentMetadataSets();
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
                        metadataSets.Get(entries.Metadata?[index]));
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

    /// <summary>
    /// Entries' metadata as label sets, each distinct set built once per merge: a stream's entries mostly repeat a few
    /// sets (a detected level), and building one per entry (sorting, validating, fingerprinting) is most of a scan's cost.
    /// </summary>
    private sealed class RecentMetadataSets
    {
        private const int Capacity = 8;
        private readonly (IReadOnlyList<Label> Source, LabelSet? Set)[] _slots = new (IReadOnlyList<Label>, LabelSet?)[Capacity];
        private int _count;
        private int _next;

        public LabelSet? Get(IReadOnlyList<Label>? metadata)
        {
            if (metadata is null || metadata.Count == 0)
            {
                return null;
            }

            if (metadata is LabelSet set)
            {
                return set;
            }

            for (var i = 0; i < _count; i++)
            {
                var slot = _slots[i];
                if (ReferenceEquals(slot.Source, metadata) || SameLabels(slot.Source, metadata))
                {
                    return slot.Set;
                }
            }

            var labels = new Label[metadata.Count];
            for (var i = 0; i < labels.Length; i++)
            {
                labels[i] = metadata[i];
            }

            var created = LabelSet.TryCreate(labels, out var built, out _) ? built : null;
            _slots[_next] = (metadata, created);
            _next = (_next + 1) % Capacity;
            _count = Math.Min(_count + 1, Capacity);
            return created;
        }

        private static bool SameLabels(IReadOnlyList<Label> a, IReadOnlyList<Label> b)
        {
            if (a.Count != b.Count)
            {
                return false;
            }

            for (var i = 0; i < a.Count; i++)
            {
                if (!string.Equals(a[i].Name, b[i].Name, StringComparison.Ordinal) || !string.Equals(a[i].Value, b[i].Value, StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }
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
