using System.Buffers;
using System.Runtime.InteropServices;
using Pipeline.Aggregator.Storage;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// The tail of a stream's chunk that is not a block yet: the compressed frames of the WAL sections stored into it, kept
/// as they are (<see cref="CompressedBlock.WriteFrame"/>), and an index of their entries by timestamp. When the entries
/// came in (timestamp, line) order the frames become the block as they are, without being compressed again; otherwise —
/// entries out of order, or duplicates left out — <see cref="BlockData"/> sorts them and compresses one frame. Duplicates
/// (same timestamp and line) are found by timestamp: a binary search while in order, an index once not; a candidate's
/// line is compared byte for byte (its frame decompressed when it is not the one being stored). A section whose entries
/// are in strictly increasing timestamp order, all after the head's last one (<see cref="SectionOrder"/>: the usual push),
/// cannot hold a duplicate nor break the order, so it is stored without reading its entries; they are indexed only when
/// an entry that needs the index arrives, or for reading and sorting.
/// </summary>
internal sealed class HeadBlock : IDisposable
{
    internal const int EntryOverhead = 32;

    private readonly List<Frame> _frames = [];
    private byte[] _data = [];
    private int _used;
    private Entry[] _entries = [];
    private int _entryCount;
    private int _indexedFrames;
    private int _stored;
    private Dictionary<long, int>? _lastByTimestamp;
    private bool _ordered = true;
    private bool _hasDuplicates;
    private byte[] _decoded = [];
    private int _decodedFrame = -1;

    /// <summary>Entries stored (duplicates left out).</summary>
    public int Count { get; private set; }

    public long MinTs { get; private set; } = long.MaxValue;

    public long MaxTs { get; private set; } = long.MinValue;

    /// <summary>Bytes of the entries uncompressed: the head becomes a block once this reaches the block size.</summary>
    public long UncompressedBytes { get; private set; }

    /// <summary>Memory held: the frames plus per-entry overhead (counted as stored, whether indexed yet or not).</summary>
    public long SizeBytes => _used + ((long)_stored * EntryOverhead);

    /// <summary>
    /// Stores one WAL section: its compressed <paramref name="frame"/> and the same <paramref name="count"/> entries
    /// uncompressed (<paramref name="entries"/>, to index them). Returns the memory added; counts the entries stored and
    /// the duplicates left out. <paramref name="order"/>, when known, is the section's timestamp order.
    /// </summary>
    public long AppendSection(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> entries, int count, ref AppendCounts counts, SectionOrder? order = null)
    {
        var before = SizeBytes;
        if (order is { Increasing: true } known && (Count == 0 || known.First > MaxTs))
        {
            // After every stored entry and in order: no duplicate is possible and the order holds; indexed when needed.
            AddFrame(frame, entries.Length, count);
            Count += count;
            counts.Accepted += count;
            MinTs = Math.Min(MinTs, known.First);
            MaxTs = Math.Max(MaxTs, known.Last);
            return SizeBytes - before;
        }

        IndexFrames(_frames.Count);
        var frameIndex = _frames.Count;
        AddFrame(frame, entries.Length, count);
        _indexedFrames = _frames.Count;
        EnsureEntries(count);

        var position = 0;
        for (var e = 0; e < count; e++)
        {
            var start = position;
            position = EntryFormat.Next(entries, position, out var ts, out var lineStart, out var lineLength);
            var line = entries.Slice(lineStart, lineLength);
            var previousSame = -1;
            var duplicate = false;
            if (Count > 0 && ts <= MaxTs)
            {
                duplicate = IsDuplicate(ts, line, frameIndex, entries, out previousSame);
                if (!duplicate && _ordered && (ts < MaxTs || !FollowsLast(line, frameIndex, entries)))
                {
                    _ordered = false;
                }
            }

            if (duplicate && ts < MaxTs)
            {
                BuildTimestampIndex(); // The entries are no longer in timestamp order: the index finds candidates from now on.
            }

            _entries[_entryCount] = new Entry(ts, frameIndex, start, position - start, lineStart, lineLength, previousSame, duplicate);
            if (duplicate)
            {
                _hasDuplicates = true;
                counts.Duplicates++;
                _entryCount++;
                continue;
            }

            if (_lastByTimestamp is not null)
            {
                _lastByTimestamp[ts] = _entryCount;
            }

            _last = _entryCount;
            _entryCount++;
            Count++;
            counts.Accepted++;
            MinTs = Math.Min(MinTs, ts);
            MaxTs = Math.Max(MaxTs, ts);
        }

        return SizeBytes - before;
    }

    /// <summary>
    /// The head as block data (frames) with its uncompressed length: the stored frames themselves when the entries came in
    /// order, else the entries sorted, without duplicates, compressed into <paramref name="compressed"/> as one frame.
    /// </summary>
    public ReadOnlySpan<byte> BlockData(ByteBuffer scratch, ref byte[] compressed, out int uncompressedLength)
    {
        if (_ordered && !_hasDuplicates)
        {
            uncompressedLength = (int)UncompressedBytes;
            return _data.AsSpan(0, _used);
        }

        scratch.Clear();
        WriteSorted(scratch, long.MinValue, long.MaxValue, out _);
        var sorted = scratch.WrittenSpan;
        var max = CompressedBlock.MaxFrameLength(sorted.Length);
        if (compressed.Length < max)
        {
            compressed = new byte[max];
        }

        uncompressedLength = sorted.Length;
        return compressed.AsSpan(0, CompressedBlock.WriteFrame(sorted, compressed));
    }

    /// <summary>Empties the head, keeping its buffers for the next block of the chunk.</summary>
    public void Clear() => Reset(keep: true);

    /// <summary>Copies the entries in [from, to) into a decoded block, for readers (the head keeps changing).</summary>
    public BlockEntries? Snapshot(long from, long to)
    {
        if (Count == 0 || MaxTs < from || MinTs >= to)
        {
            return null;
        }

        using var buffer = new ByteBuffer((int)Math.Min(UncompressedBytes + 16, int.MaxValue));
        WriteSorted(buffer, from, to, out var count);
        return count == 0 ? null : BlockEntries.Parse(buffer.WrittenSpan.ToArray(), count);
    }

    public void Dispose()
    {
        Reset(keep: false);
        _entries = [];
    }

    private int _last = -1;

    private void AddFrame(ReadOnlySpan<byte> frame, int uncompressedLength, int count)
    {
        EnsureData(frame.Length);
        frame.CopyTo(_data.AsSpan(_used));
        _frames.Add(new Frame(_used, frame.Length, uncompressedLength, count));
        _used += frame.Length;
        UncompressedBytes += uncompressedLength;
        _stored += count;
    }

    private void EnsureEntries(int count)
    {
        if (_entries.Length - _entryCount < count)
        {
            Array.Resize(ref _entries, Math.Max(Math.Max(256, _entries.Length * 2), _entryCount + count));
        }
    }

    /// <summary>Indexes the entries of the frames before <paramref name="end"/> that were stored without (all in order, none a duplicate).</summary>
    private void IndexFrames(int end)
    {
        for (var f = _indexedFrames; f < end; f++)
        {
            var frame = _frames[f];
            var section = Section(f, -1, default);
            EnsureEntries(frame.Count);
            var position = 0;
            for (var e = 0; e < frame.Count; e++)
            {
                var start = position;
                position = EntryFormat.Next(section, position, out var ts, out var lineStart, out var lineLength);
                _entries[_entryCount] = new Entry(ts, f, start, position - start, lineStart, lineLength, -1, false);
                if (_lastByTimestamp is not null)
                {
                    _lastByTimestamp[ts] = _entryCount;
                }

                _last = _entryCount;
                _entryCount++;
            }
        }

        _indexedFrames = Math.Max(_indexedFrames, end);
    }

    /// <summary>Whether <paramref name="line"/> sorts after the last stored entry's line (same timestamp), keeping the head in order.</summary>
    private bool FollowsLast(ReadOnlySpan<byte> line, int currentFrame, ReadOnlySpan<byte> current) =>
        _last >= 0 && line.SequenceCompareTo(Line(_last, currentFrame, current)) > 0;

    private bool IsDuplicate(long timestamp, ReadOnlySpan<byte> line, int currentFrame, ReadOnlySpan<byte> current, out int previousSame)
    {
        previousSame = -1;
        if (_ordered && _lastByTimestamp is null)
        {
            // In order: the entries with this timestamp are one run at the end, found by binary search.
            var entries = _entries.AsSpan(0, _entryCount);
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
                if (!entries[i].Duplicate)
                {
                    if (Line(i, currentFrame, current).SequenceEqual(line))
                    {
                        return true;
                    }

                    previousSame = i;
                }
            }

            if (timestamp < MaxTs)
            {
                BuildTimestampIndex(); // Going out of order: from now on the index finds the candidates.
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
            if (Line(i, currentFrame, current).SequenceEqual(line))
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

        _lastByTimestamp = new Dictionary<long, int>(_entryCount);
        for (var i = 0; i < _entryCount; i++)
        {
            if (!_entries[i].Duplicate)
            {
                _lastByTimestamp[_entries[i].Timestamp] = i;
            }
        }
    }

    /// <summary>An entry's line: from the section being stored, or from its frame decompressed (kept for the next lookup).</summary>
    private ReadOnlySpan<byte> Line(int index, int currentFrame, ReadOnlySpan<byte> current)
    {
        var entry = _entries[index];
        return Section(entry.Frame, currentFrame, current).Slice(entry.LineOffset, entry.LineLength);
    }

    private ReadOnlySpan<byte> Section(int frame, int currentFrame, ReadOnlySpan<byte> current)
    {
        if (frame == currentFrame)
        {
            return current;
        }

        if (_decodedFrame != frame)
        {
            var f = _frames[frame];
            if (_decoded.Length < f.UncompressedLength)
            {
                _decoded = new byte[f.UncompressedLength];
            }

            CompressedBlock.DecompressInto(_data.AsSpan(f.Offset, f.Length), _decoded.AsSpan(0, f.UncompressedLength));
            _decodedFrame = frame;
        }

        return _decoded.AsSpan(0, _frames[frame].UncompressedLength);
    }

    private void WriteSorted(ByteBuffer buffer, long from, long to, out int count)
    {
        // Every frame decompressed into one buffer, then the entries in range copied in (timestamp, line) order.
        IndexFrames(_frames.Count);
        var total = (int)UncompressedBytes;
        var all = ArrayPool<byte>.Shared.Rent(Math.Max(total, 1));
        var order = ArrayPool<int>.Shared.Rent(Math.Max(_entryCount, 1));
        var starts = ArrayPool<int>.Shared.Rent(Math.Max(_frames.Count, 1));
        try
        {
            var offset = 0;
            for (var f = 0; f < _frames.Count; f++)
            {
                var frame = _frames[f];
                starts[f] = offset;
                CompressedBlock.DecompressInto(_data.AsSpan(frame.Offset, frame.Length), all.AsSpan(offset, frame.UncompressedLength));
                offset += frame.UncompressedLength;
            }

            count = 0;
            for (var i = 0; i < _entryCount; i++)
            {
                var entry = _entries[i];
                if (!entry.Duplicate && entry.Timestamp >= from && entry.Timestamp < to)
                {
                    order[count++] = i;
                }
            }

            if (!_ordered)
            {
                order.AsSpan(0, count).Sort(new Order(_entries, all, starts));
            }

            for (var k = 0; k < count; k++)
            {
                var entry = _entries[order[k]];
                buffer.WriteBytes(all.AsSpan(starts[entry.Frame] + entry.Offset, entry.Length));
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(starts);
            ArrayPool<int>.Shared.Return(order);
            ArrayPool<byte>.Shared.Return(all);
        }
    }

    private void EnsureData(int size)
    {
        if (_data.Length - _used >= size)
        {
            return;
        }

        var next = ArrayPool<byte>.Shared.Rent(Math.Max(_used + size, Math.Max(16 * 1024, _data.Length * 2)));
        _data.AsSpan(0, _used).CopyTo(next);
        if (_data.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_data);
        }

        _data = next;
    }

    private void Reset(bool keep)
    {
        // The next block of the chunk reuses the buffer: renting it again would walk the pool's sizes every block.
        if (!keep && _data.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_data);
            _data = [];
        }

        if (!keep)
        {
            _decoded = [];
        }

        _frames.Clear();
        _used = 0;
        _entryCount = 0;
        _indexedFrames = 0;
        _stored = 0;
        _last = -1;
        _lastByTimestamp = null;
        _ordered = true;
        _hasDuplicates = false;
        _decodedFrame = -1;
        Count = 0;
        UncompressedBytes = 0;
        MinTs = long.MaxValue;
        MaxTs = long.MinValue;
    }

    /// <summary>One stored frame: where it is, its uncompressed size and how many entries it holds.</summary>
    private readonly record struct Frame(int Offset, int Length, int UncompressedLength, int Count);

    /// <summary>One entry: its timestamp, and where it and its line are in its frame's uncompressed bytes.</summary>
    private readonly record struct Entry(long Timestamp, int Frame, int Offset, int Length, int LineOffset, int LineLength, int PreviousSameTimestamp, bool Duplicate);

    /// <summary>(timestamp, line) order of entry indexes, as a struct so the sort is not a delegate call per comparison.</summary>
    private readonly struct Order(Entry[] entries, byte[] all, int[] starts) : IComparer<int>
    {
        public int Compare(int a, int b)
        {
            var x = entries[a];
            var y = entries[b];
            var c = x.Timestamp.CompareTo(y.Timestamp);
            return c != 0 ? c : all.AsSpan(starts[x.Frame] + x.LineOffset, x.LineLength).SequenceCompareTo(all.AsSpan(starts[y.Frame] + y.LineOffset, y.LineLength));
        }
    }
}
