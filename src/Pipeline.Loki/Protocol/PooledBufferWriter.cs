using System.Buffers;

namespace Pipeline.Loki.Protocol;

/// <summary>
/// A growable <see cref="IBufferWriter{T}"/> over arrays rented from <see cref="ArrayPool{T}.Shared"/>, so encoding a
/// batch allocates nothing once warmed up. Dispose to give the array back.
/// </summary>
public sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private const int MinimumSize = 256;

    private byte[] _buffer = [];
    private int _written;

    /// <summary>Creates a writer.</summary>
    /// <param name="initialCapacity">Bytes to rent up front (0 rents on first write).</param>
    public PooledBufferWriter(int initialCapacity = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(initialCapacity);
        if (initialCapacity > 0)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);
        }
    }

    /// <summary>The number of bytes written.</summary>
    public int WrittenCount => _written;

    /// <summary>The size of the rented buffer.</summary>
    public int Capacity => _buffer.Length;

    /// <summary>The bytes written, valid until the next write, <see cref="Clear"/> or <see cref="Dispose"/>.</summary>
    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    /// <summary>The bytes written as memory (same lifetime as <see cref="WrittenSpan"/>).</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    /// <inheritdoc/>
    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length - _written);
        _written += count;
    }

    /// <inheritdoc/>
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    /// <inheritdoc/>
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <summary>Forgets what was written, keeping the buffer unless it is larger than <paramref name="retainLimit"/>.</summary>
    /// <param name="retainLimit">The largest buffer kept for reuse; a larger one goes back to the pool.</param>
    public void Clear(int retainLimit = int.MaxValue)
    {
        _written = 0;
        if (_buffer.Length > retainLimit)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    /// <summary>Returns the buffer to the pool; the writer can be used again afterwards.</summary>
    public void Dispose()
    {
        _written = 0;
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    private void Ensure(int sizeHint)
    {
        var needed = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= needed)
        {
            return;
        }

        var size = Math.Max(Math.Max(MinimumSize, (long)_buffer.Length * 2), (long)_written + needed);
        var grown = ArrayPool<byte>.Shared.Rent((int)Math.Min(size, Array.MaxLength));
        if (grown.Length - _written < needed)
        {
            ArrayPool<byte>.Shared.Return(grown);
            throw new InvalidOperationException($"The buffer cannot grow beyond {Array.MaxLength} bytes.");
        }

        _buffer.AsSpan(0, _written).CopyTo(grown);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = grown;
    }
}
