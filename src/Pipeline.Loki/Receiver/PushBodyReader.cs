using System.Buffers;
using System.IO.Pipelines;

namespace Pipeline.Loki.Receiver;

/// <summary>
/// Reads a request body from its <see cref="PipeReader"/> into one pooled buffer that grows with the bytes that actually
/// arrive (never with the length a client claims), stopping as soon as the limit is passed. A snappy block can only be
/// decompressed whole, so the compressed body is gathered; it is bounded by the body limit.
/// </summary>
internal static class PushBodyReader
{
    private const int InitialSize = 64 * 1024;

    public static async ValueTask<Body> ReadAsync(PipeReader reader, int limit, CancellationToken cancellationToken)
    {
        var buffer = Protocol.PushBufferPool.Instance.Rent(Math.Min(InitialSize, limit + 1));
        var length = 0;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                var sequence = result.Buffer;
                if (length + sequence.Length > limit)
                {
                    var seen = length + sequence.Length;
                    reader.AdvanceTo(sequence.End);
                    Protocol.PushBufferPool.Instance.Return(buffer);
                    return new Body(null, (int)Math.Min(seen, int.MaxValue), tooLarge: true);
                }

                var needed = length + (int)sequence.Length;
                if (needed > buffer.Length)
                {
                    var grown = Protocol.PushBufferPool.Instance.Rent((int)Math.Min(Math.Max((long)buffer.Length * 2, needed), limit + 1L));
                    buffer.AsSpan(0, length).CopyTo(grown);
                    Protocol.PushBufferPool.Instance.Return(buffer);
                    buffer = grown;
                }

                sequence.CopyTo(buffer.AsSpan(length));
                length = needed;
                reader.AdvanceTo(sequence.End);
                if (result.IsCompleted)
                {
                    return new Body(buffer, length, tooLarge: false);
                }
            }
        }
        catch
        {
            Protocol.PushBufferPool.Instance.Return(buffer);
            throw;
        }
    }

    /// <summary>A body read into a pooled buffer; dispose to return it.</summary>
    public struct Body : IDisposable
    {
        private byte[]? _buffer;

        public Body(byte[]? buffer, int length, bool tooLarge)
        {
            _buffer = buffer;
            Length = length;
            TooLarge = tooLarge;
        }

        public int Length { get; }

        public bool TooLarge { get; }

        public readonly ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

        public void Dispose()
        {
            if (_buffer is { } buffer)
            {
                _buffer = null;
                Protocol.PushBufferPool.Instance.Return(buffer);
            }
        }
    }
}
