using System.Collections.Concurrent;

namespace Pipeline.Model;

/// <summary>A pool of <see cref="EntryChunk"/>s of one capacity, so steady-state flow allocates no chunks or entries.</summary>
public sealed class EntryChunkPool
{
    /// <summary>The default number of entries per chunk.</summary>
    public const int DefaultChunkCapacity = 256;

    /// <summary>The default number of idle chunks kept.</summary>
    public const int DefaultMaxRetained = 256;

    private readonly ConcurrentQueue<EntryChunk> _idle = new();
    private readonly int _maxRetained;
    private int _idleCount;

    /// <summary>Creates a pool.</summary>
    /// <param name="chunkCapacity">Entries per chunk.</param>
    /// <param name="maxRetained">Idle chunks kept for reuse; more are left to the garbage collector.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is less than 1 (capacity) or negative (retained).</exception>
    public EntryChunkPool(int chunkCapacity = DefaultChunkCapacity, int maxRetained = DefaultMaxRetained)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxRetained);
        ChunkCapacity = chunkCapacity;
        _maxRetained = maxRetained;
    }

    /// <summary>A process-wide pool with default sizes.</summary>
    public static EntryChunkPool Shared { get; } = new();

    /// <summary>Entries per chunk.</summary>
    public int ChunkCapacity { get; }

    /// <summary>Takes an empty chunk with one reference.</summary>
    /// <returns>The chunk.</returns>
    public EntryChunk Rent()
    {
        if (_idle.TryDequeue(out var chunk))
        {
            Interlocked.Decrement(ref _idleCount);
            chunk.ResetForRent();
            return chunk;
        }

        return new EntryChunk(ChunkCapacity, this);
    }

    internal void Return(EntryChunk chunk)
    {
        if (Interlocked.Increment(ref _idleCount) <= _maxRetained)
        {
            _idle.Enqueue(chunk);
        }
        else
        {
            Interlocked.Decrement(ref _idleCount);
        }
    }
}
