using System.Buffers;

namespace Pipeline.Loki.Protocol;

/// <summary>
/// The pool of push-sized buffers (request bodies, decompressed messages): a few per size, shared by all threads.
/// <see cref="ArrayPool{T}.Shared"/> would also keep one such buffer cached on every thread that ever returned one,
/// which for megabyte buffers on a busy thread pool is tens of megabytes held for nothing.
/// </summary>
internal static class PushBufferPool
{
    public static ArrayPool<byte> Instance { get; } = ArrayPool<byte>.Create(maxArrayLength: 128 * 1024 * 1024, maxArraysPerBucket: 8);
}
