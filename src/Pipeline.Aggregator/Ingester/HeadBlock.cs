using System.Buffers;
using System.Runtime.InteropServices;
using Pipeline.Aggregator.Storage;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// The uncompressed, unordered tail of a stream's chunk. Entries are kept in one pooled arena already in the block
/// format (<see cref="CompressedBlock"/>: <c>i64 ts, varint length, line, metadata</c>), copied as they come in the WAL
/// record, so a head whose entries arrived in order is compressed straight from the arena. Duplicates (same timestamp and
/// line) are found by timestamp: a binary search while the head is in order, an index by timestamp once it is not.
/// </summary>
internal sealed class HeadBlock : IDisposable
{
    internal const int EntryOverhead = 32;

    private readonly int _blockSize;
    private byte[] _arena = [];
    private int _used;
    private Entry[] _entries = [];
    private Dictionary<long, int>? _lastByTimestamp;
    private bool _ordered = true;

    public HeadBlock(int blockSize = IngesterOptions.DefaultBlockSize) => _blockSize = blockSize;

    public int Count { get; private set; }

    public long MinTs { get; private set; } = long.MaxValue;

    public long MaxTs { get; private set; } = long.MinValue;

    /// <summary>Approximate memory held (entry bytes plus per-entry overhead).</summary>
    public long SizeBytes => _used + ((long)Count * EntryOverhead);

    /// <summary>
    /// Appends one entry given as its block-format bytes (<paramref name="record"/>, with the line at
    /// <paramref name="lineStart"/>) unless an identical one is already here; returns the bytes added, or -1 for a duplicate.
    /// </summary>
    public int TryAppend(long timestamp, ReadOnlySpan<byte> record, int lineStart, int lineLength)
    {
        var line = record.Slice(lineStart, lineLength);
        var previousSame = -1;
        if (Count > 0 && timestamp <= MaxTs)
        {
            if (IsDuplicate(timestamp, line, out previousSame))
            {
                return -1;
            }

            if (_ordered && (timestamp < MaxTs || line.SequenceCompareTo(Line(Count - 1)) < 0))
            {
                _ordered = false;
            }
        }

        EnsureArena(record.Length);
        if (Count == _entries.Length)
        {
            Array.Resize(ref _entries, Math.Max(256, _entries.Length * 2));
        }

        record.CopyTo(_arena.AsSpan(_used));
        _entries[Count] = new Entry(timestamp, _used, record.Length, _used + lineStart, lineLength, previousSame);
        if (_lastByTimestamp is not null)
        {
            _lastByTimestamp[timestamp] = Count;
        }

        _used += record.Length;
        Count++;
        MinTs = Math.Min(MinTs, timestamp);
        MaxTs = Math.Max(MaxTs, timestamp);
        return record.Length + EntryOverhead;
    }

    /// <summary>The entries in (timestamp, line) order, in the block format: the arena itself when they came in order.</summary>
    public ReadOnlySpan<byte> Sorted(ByteBuffer scratch)
    {
        if (_ordered)
        {
            return _arena.AsSpan(0, _used);
        }

        scratch.Clear();
        WriteSorted(scratch, long.MinValue, long.MaxValue, out _);
        return scratch.WrittenSpan;
    }

    /// <summary>Empties the head, keeping its arena for the next block of the chunk.</summary>
    public void Clear() => Reset(keepArena: true);

    /// <summary>Copies the entries in [from, to) into a decoded block, for readers (the head keeps changing).</summary>
    public BlockEntries? Snapshot(long from, long to)
    {
        if (Count == 0 || MaxTs < from || MinTs >= to)
        {
            return null;
        }

        using var buffer = new ByteBuffer(_used + 16);
        WriteSorted(buffer, from, to, out var count);
        return count == 0 ? null : BlockEntries.Parse(buffer.WrittenSpan.ToArray(), count);
    }

    public void Dispose()
    {
        Reset();
        _entries = [];
    }

    private ReadOnlySpan<byte> Line(int index) => _arena.AsSpan(_entries[index].LineOffset, _entries[index].LineLength);

    private bool IsDuplicate(long timestamp, ReadOnlySpan<byte> line, out int previousSame)
    {
        previousSame = -1;
        if (_ordered)
        {
            // In order: the entries with this timestamp are one run, found by binary search.
            var entries = _entries.AsSpan(0, Count);
            var lo = 0;
            var hi = entries.Length;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (entries[mid].Timestamp < timestamp)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            for (var i = lo; i < entries.Length && entries[i].Timestamp == timestamp; i++)
            {
                if (Line(i).SequenceEqual(line))
                {
                    return true;
                }

                previousSame = i;
            }

            return false;
        }

        BuildTimestampIndex();
        ref var last = ref CollectionsMarshal.GetValueRefOrNullRef(_lastByTimestamp!, timestamp);
        if (System.Runtime.CompilerServices.Unsafe.IsNullRef(ref last))
        {
            return false;
        }

        for (var i = last; i >= 0; i = _entries[i].PreviousSameTimestamp)
        {
            if (Line(i).SequenceEqual(line))
            {
                return true;
            }
        }

        previousSame = last;
        return false;
    }

    private void BuildTimestampIndex()
    {
        if (_lastByTimestamp is not null)
        {
            return;
        }

        _lastByTimestamp = new Dictionary<long, int>(Count);
        for (var i = 0; i < Count; i++)
        {
            _lastByTimestamp[_entries[i].Timestamp] = i;
        }
    }

    private void WriteSorted(ByteBuffer buffer, long from, long to, out int count)
    {
        var order = ArrayPool<int>.Shared.Rent(Math.Max(Count, 1));
        try
        {
            count = 0;
            for (var i = 0; i < Count; i++)
            {
                var ts = _entries[i].Timestamp;
                if (ts >= from && ts < to)
                {
                    order[count++] = i;
                }
            }

            if (!_ordered)
            {
                order.AsSpan(0, count).Sort(new Order(_entries, _arena));
            }

            for (var k = 0; k < count; k++)
            {
                var entry = _entries[order[k]];
                buffer.WriteBytes(_arena.AsSpan(entry.Offset, entry.Length));
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(order);
        }
    }

    private void EnsureArena(int size)
    {
        if (_arena.Length - _used >= size)
        {
            return;
        }

        // Doubling, but not past the block size: a head is cut once it reaches it, so a larger arena would sit unused.
        var next = ArrayPool<byte>.Shared.Rent(Math.Max(_used + size, Math.Min(Math.Max(16 * 1024, _arena.Length * 2), _blockSize + 1024)));
        _arena.AsSpan(0, _used).CopyTo(next);
        if (_arena.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_arena);
        }

        _arena = next;
    }

    private void Reset(bool keepArena = false)
    {
        // The next block of the chunk reuses the arena: renting it again would walk the pool's sizes every block.
        if (!keepArena && _arena.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_arena);
            _arena = [];
        }

        _used = 0;
        _lastByTimestamp = null;
        _ordered = true;
        Count = 0;
        MinTs = long.MaxValue;
        MaxTs = long.MinValue;
    }

    private readonly record struct Entry(long Timestamp, int Offset, int Length, int LineOffset, int LineLength, int PreviousSameTimestamp);

    /// <summary>(timestamp, line) order of entry indexes, as a struct so the sort is not a delegate call per comparison.</summary>
    private readonly struct Order(Entry[] entries, byte[] arena) : IComparer<int>
    {
        public int Compare(int a, int b)
        {
            var x = entries[a];
            var y = entries[b];
            var c = x.Timestamp.CompareTo(y.Timestamp);
            return c != 0 ? c : arena.AsSpan(x.LineOffset, x.LineLength).SequenceCompareTo(arena.AsSpan(y.LineOffset, y.LineLength));
        }
    }
}
