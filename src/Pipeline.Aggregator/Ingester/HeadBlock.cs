using System.Buffers;
using Pipeline.Aggregator.Storage;
using Pipeline.Model;

namespace Pipeline.Aggregator.Ingester;

/// <summary>
/// The uncompressed, unordered tail of a stream's chunk. Lines are copied into one pooled arena; an index by timestamp
/// finds duplicates (same timestamp and line). <see cref="Cut"/> sorts by (timestamp, line) and compresses a block.
/// </summary>
internal sealed class HeadBlock : IDisposable
{
    internal const int EntryOverhead = 32;

    private byte[] _arena = [];
    private int _used;
    private Entry[] _entries = [];
    private IReadOnlyList<Label>?[]? _metadata;
    private readonly Dictionary<long, int> _lastByTimestamp = [];
    private readonly int _blockSize;

    public HeadBlock(int blockSize = IngesterOptions.DefaultBlockSize) => _blockSize = blockSize;

    public int Count { get; private set; }

    public long MinTs { get; private set; } = long.MaxValue;

    public long MaxTs { get; private set; } = long.MinValue;

    /// <summary>Approximate memory held (line bytes plus per-entry overhead).</summary>
    public long SizeBytes => _used + ((long)Count * EntryOverhead);

    /// <summary>Appends an entry unless an identical one is already here; returns the bytes added, or -1 for a duplicate.</summary>
    public int TryAppend(long timestamp, ReadOnlySpan<byte> line, IReadOnlyList<Label>? metadata)
    {
        ref var last = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_lastByTimestamp, timestamp, out var exists);
        if (exists)
        {
            for (var i = last; i >= 0; i = _entries[i].PreviousSameTimestamp)
            {
                if (_arena.AsSpan(_entries[i].Offset, _entries[i].Length).SequenceEqual(line))
                {
                    return -1;
                }
            }
        }

        EnsureArena(line.Length);
        if (Count == _entries.Length)
        {
            Array.Resize(ref _entries, Math.Max(256, _entries.Length * 2));
            if (_metadata is not null)
            {
                Array.Resize(ref _metadata, _entries.Length);
            }
        }

        line.CopyTo(_arena.AsSpan(_used));
        _entries[Count] = new Entry(timestamp, _used, line.Length, exists ? last : -1);
        if (metadata is { Count: > 0 })
        {
            _metadata ??= new IReadOnlyList<Label>?[_entries.Length];
            _metadata[Count] = metadata;
        }

        last = Count;
        _used += line.Length;
        Count++;
        MinTs = Math.Min(MinTs, timestamp);
        MaxTs = Math.Max(MaxTs, timestamp);
        return line.Length + EntryOverhead;
    }

    /// <summary>Sorts, serializes and compresses the entries into a block, then empties the head.</summary>
    public CompressedBlock Cut(ByteBuffer scratch)
    {
        scratch.Clear();
        WriteSorted(scratch, long.MinValue, long.MaxValue, out var count);
        var block = CompressedBlock.Compress(scratch.WrittenSpan, MinTs, MaxTs, count);
        Reset(keepArena: true);
        return block;
    }

    /// <summary>Copies the entries in [from, to) into a decoded block, for readers (the head keeps changing).</summary>
    public BlockEntries? Snapshot(long from, long to)
    {
        if (Count == 0 || MaxTs < from || MinTs >= to)
        {
            return null;
        }

        using var buffer = new ByteBuffer(_used + (Count * 16));
        WriteSorted(buffer, from, to, out var count);
        return count == 0 ? null : BlockEntries.Parse(buffer.WrittenSpan.ToArray(), count);
    }

    public void Dispose()
    {
        Reset();
        _entries = [];
    }

    private void WriteSorted(ByteBuffer buffer, long from, long to, out int count)
    {
        var order = ArrayPool<int>.Shared.Rent(Count);
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

            var entries = _entries;
            var arena = _arena;
            order.AsSpan(0, count).Sort((a, b) =>
            {
                var c = entries[a].Timestamp.CompareTo(entries[b].Timestamp);
                return c != 0 ? c : arena.AsSpan(entries[a].Offset, entries[a].Length).SequenceCompareTo(arena.AsSpan(entries[b].Offset, entries[b].Length));
            });
            for (var k = 0; k < count; k++)
            {
                var entry = _entries[order[k]];
                buffer.WriteInt64(entry.Timestamp);
                buffer.WriteLengthPrefixed(_arena.AsSpan(entry.Offset, entry.Length));
                MetadataCodec.Write(buffer, _metadata?[order[k]]);
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
        var next = ArrayPool<byte>.Shared.Rent(Math.Max(_used + size, Math.Min(Math.Max(64 * 1024, _arena.Length * 2), _blockSize)));
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
        _metadata = null;
        _lastByTimestamp.Clear();
        Count = 0;
        MinTs = long.MaxValue;
        MaxTs = long.MinValue;
    }

    private readonly record struct Entry(long Timestamp, int Offset, int Length, int PreviousSameTimestamp);
}
