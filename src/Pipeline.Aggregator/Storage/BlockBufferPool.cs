using System.Collections.Concurrent;

namespace Pipeline.Aggregator.Storage;

/// <summary>
/// Buffers for compressed blocks held in memory, in 4 KiB size classes (a power-of-two pool would waste up to half of
/// each block), reused once their chunk is flushed, so keeping blocks in memory costs their size rather than garbage for
/// the collector. At most <see cref="MaxRetainedBytes"/> of idle buffers are kept.
/// </summary>
internal static class BlockBufferPool
{
    public const long MaxRetainedBytes = 16L << 20;

    private const int ClassSize = 4096;
    private const int MaxPooledLength = 1 << 20;

    private static readonly ConcurrentStack<byte[]>[] s_classes = CreateClasses();
    private static long s_retained;

    public static byte[] Rent(int length)
    {
        if (length > MaxPooledLength)
        {
            return GC.AllocateUninitializedArray<byte>(length);
        }

        var index = (length + ClassSize - 1) / ClassSize;
        if (s_classes[index].TryPop(out var buffer))
        {
            Interlocked.Add(ref s_retained, -buffer.Length);
            return buffer;
        }

        return GC.AllocateUninitializedArray<byte>(Math.Max(index, 1) * ClassSize);
    }

    public static void Return(byte[] buffer)
    {
        if (buffer.Length > MaxPooledLength || buffer.Length % ClassSize != 0 || Interlocked.Add(ref s_retained, buffer.Length) > MaxRetainedBytes)
        {
            if (buffer.Length <= MaxPooledLength && buffer.Length % ClassSize == 0)
            {
                Interlocked.Add(ref s_retained, -buffer.Length);
            }

            return; // Left to the collector.
        }

        s_classes[buffer.Length / ClassSize].Push(buffer);
    }

    private static ConcurrentStack<byte[]>[] CreateClasses()
    {
        var classes = new ConcurrentStack<byte[]>[(MaxPooledLength / ClassSize) + 1];
        for (var i = 0; i < classes.Length; i++)
        {
            classes[i] = new ConcurrentStack<byte[]>();
        }

        return classes;
    }
}
