using Pipeline.Runtime;

namespace Pipeline.Model;

/// <summary>
/// A pooled batch of entries: the unit that crosses a channel, so one hand-off costs the same for one entry
/// or hundreds. A chunk is reference-counted: when it fans out to several sinks each holds a reference, and
/// the last <see cref="Release"/> returns it (and its reusable entries) to its pool.
/// </summary>
public sealed class EntryChunk
{
    private readonly LogEntry[] _entries;
    private readonly EntryChunkPool? _pool;
    private int _references = 1;

    /// <summary>Creates a chunk that is not pooled (for tests and one-off use).</summary>
    /// <param name="capacity">The maximum number of entries.</param>
    public EntryChunk(int capacity)
        : this(capacity, null)
    {
    }

    internal EntryChunk(int capacity, EntryChunkPool? pool)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _entries = new LogEntry[capacity];
        _pool = pool;
    }

    /// <summary>The number of entries.</summary>
    public int Count { get; private set; }

    /// <summary>The maximum number of entries.</summary>
    public int Capacity => _entries.Length;

    /// <summary>Whether the chunk holds <see cref="Capacity"/> entries.</summary>
    public bool IsFull => Count == _entries.Length;

    /// <summary>The entries, in order.</summary>
    public ReadOnlySpan<LogEntry> Entries => _entries.AsSpan(0, Count);

    /// <summary>The entry at <paramref name="index"/>.</summary>
    /// <param name="index">Zero-based index.</param>
    public LogEntry this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
            return _entries[index];
        }
    }

    /// <summary>Appends an entry and returns it, cleared, for the caller to fill.</summary>
    /// <returns>The new entry.</returns>
    /// <exception cref="InvalidOperationException">The chunk is full.</exception>
    public LogEntry Add()
    {
        if (Count == _entries.Length)
        {
            throw new InvalidOperationException($"The chunk is full ({_entries.Length} entries).");
        }

        var entry = _entries[Count] ??= new LogEntry();
        entry.Reset();
        Count++;
        return entry;
    }

    /// <summary>Acknowledges every entry once (one sink delivered them all).</summary>
    public void AcknowledgeAll() => AcknowledgeAll(null);

    /// <summary>Acknowledges every entry once, recording that the sink refused them all for <paramref name="rejection"/>.</summary>
    /// <param name="rejection">Why they were refused, or <see langword="null"/> when delivered.</param>
    public void AcknowledgeAll(EntryRejection? rejection)
    {
        var tokens = System.Buffers.ArrayPool<AckToken>.Shared.Rent(Count);
        for (var i = 0; i < Count; i++)
        {
            tokens[i] = _entries[i].Ack;
        }

        AckToken.AcknowledgeAll(tokens.AsSpan(0, Count), rejection);
        System.Buffers.ArrayPool<AckToken>.Shared.Return(tokens, clearArray: true);
    }

    /// <summary>Adds references, one for each extra consumer the chunk is handed to.</summary>
    /// <param name="count">How many references to add.</param>
    public void AddReferences(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Interlocked.Add(ref _references, count);
    }

    /// <summary>Gives up one reference; the last one returns the chunk to its pool. Do not use the chunk afterwards.</summary>
    public void Release()
    {
        var left = Interlocked.Decrement(ref _references);
        if (left == 0)
        {
            Count = 0;
            _pool?.Return(this);
        }
        else if (left < 0)
        {
            throw new InvalidOperationException("The chunk was released more times than it was referenced.");
        }
    }

    /// <summary>Keeps the entries flagged in <paramref name="keep"/> (in order) and parks the others for reuse.</summary>
    internal void Compact(ReadOnlySpan<bool> keep)
    {
        var write = 0;
        for (var read = 0; read < Count; read++)
        {
            if (keep[read])
            {
                if (write != read)
                {
                    (_entries[write], _entries[read]) = (_entries[read], _entries[write]);
                }

                write++;
            }
        }

        Count = write;
    }

    /// <summary>Empties the chunk without releasing it (its entries are reused by the next <see cref="Add"/>).</summary>
    internal void Clear() => Count = 0;

    internal void ResetForRent() => _references = 1;
}
