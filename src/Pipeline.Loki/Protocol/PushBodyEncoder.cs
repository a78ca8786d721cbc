using System.Buffers;
using System.IO.Compression;
using Snappier;

namespace Pipeline.Loki.Protocol;

/// <summary>Writes complete push bodies from a <see cref="PushRequestBuilder"/>, using pooled scratch buffers.</summary>
public static class PushBodyEncoder
{
    /// <summary>
    /// Writes the protobuf <c>PushRequest</c> compressed with snappy <em>block</em> format (not the framed format), the
    /// body Loki expects with <c>Content-Type: application/x-protobuf</c>.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="output">Where to write the compressed body.</param>
    /// <returns>The uncompressed protobuf length.</returns>
    /// <exception cref="InvalidOperationException">The request is larger than 2 GiB.</exception>
    public static int WriteSnappyProtobuf(PushRequestBuilder request, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(output);
        var length = request.ProtobufLength;
        if (length > Array.MaxLength)
        {
            throw new InvalidOperationException($"The push request is {length} bytes, more than one body can hold.");
        }

        var scratch = ArrayPool<byte>.Shared.Rent(Math.Max((int)length, 1));
        try
        {
            var written = request.WriteProtobuf(scratch);
            var destination = output.GetSpan(Snappy.GetMaxCompressedLength(written));
            var compressed = Snappy.Compress(scratch.AsSpan(0, written), destination);
            output.Advance(compressed);
            return written;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>Writes Loki's JSON push body, optionally gzip-compressed (send it with <c>Content-Encoding: gzip</c>).</summary>
    /// <param name="request">The request.</param>
    /// <param name="output">Where to write the body.</param>
    /// <param name="gzip">Whether to compress with gzip.</param>
    /// <param name="level">The gzip compression level.</param>
    public static void WriteJson(PushRequestBuilder request, IBufferWriter<byte> output, bool gzip = false, CompressionLevel level = CompressionLevel.Fastest)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(output);
        if (!gzip)
        {
            request.WriteJson(output);
            return;
        }

        using var json = new PooledBufferWriter();
        request.WriteJson(json);
        using var gzipStream = new GZipStream(new BufferWriterStream(output), level);
        gzipStream.Write(json.WrittenSpan);
    }

    /// <summary>A write-only stream over an <see cref="IBufferWriter{T}"/>, for <see cref="GZipStream"/>.</summary>
    private sealed class BufferWriterStream(IBufferWriter<byte> output) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer) => output.Write(buffer);
    }
}
