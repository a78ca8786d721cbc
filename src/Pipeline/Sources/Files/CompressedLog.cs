using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.Win32.SafeHandles;

namespace Pipeline.Sources.Files;

/// <summary>
/// Reading a gzip-compressed rotated generation (<c>0.log.20240101-101010.gz</c>, <c>app.log.2.gz</c>): its offsets are
/// those of the uncompressed content, so a stored position is reached by decompressing up to it.
/// </summary>
/// <remarks>
/// A gzip stream cut short decompresses without error in .NET (it just ends early), so a file still being written
/// (logrotate compresses in place; the kubelet writes <c>.gz.tmp</c> and renames) is told apart by its trailer: the
/// last four bytes of a complete single-member gzip file hold the uncompressed length modulo 2^32.
/// </remarks>
internal static class CompressedLog
{
    private const int FileBufferSize = 64 * 1024;

    /// <summary>Opens the compressed file for reading (its deletion or rename while open does not disturb the reader).</summary>
    public static FileStream Open(string path) => FileStat.OpenRead(path, FileBufferSize);

    /// <summary>A decompressing view of <paramref name="file"/> from its start; the file stays open when it is disposed.</summary>
    public static GZipStream Decompress(FileStream file)
    {
        file.Position = 0;
        return new GZipStream(file, CompressionMode.Decompress, leaveOpen: true);
    }

    /// <summary>Reads and discards up to <paramref name="count"/> uncompressed bytes.</summary>
    /// <returns>How many were skipped (fewer at the end of the content).</returns>
    public static async ValueTask<long> SkipAsync(Stream stream, long count, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(FileBufferSize);
        try
        {
            long skipped = 0;
            while (skipped < count)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count - skipped)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                skipped += read;
            }

            return skipped;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads the first uncompressed bytes of a compressed file into <paramref name="head"/>.</summary>
    /// <returns>How many bytes were read, or -1 when the file cannot be read or is not gzip.</returns>
    public static int ReadHead(string path, Span<byte> head)
    {
        try
        {
            using var file = Open(path);
            using var gzip = Decompress(file);
            return gzip.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return -1;
        }
    }

    /// <summary>Whether a gzip file's trailer says its content is <paramref name="uncompressedLength"/> bytes long.</summary>
    public static bool TrailerSays(SafeFileHandle handle, long uncompressedLength)
    {
        var length = TrailerLength(handle);
        return length >= 0 && length == (uint)uncompressedLength;
    }

    /// <summary>The uncompressed length a gzip file's trailer gives (modulo 2^32; of its last member), or -1 when it has none.</summary>
    public static long TrailerLength(SafeFileHandle handle)
    {
        Span<byte> trailer = stackalloc byte[4];
        try
        {
            var length = RandomAccess.GetLength(handle);
            return length >= 18 && RandomAccess.Read(handle, trailer, length - 4) == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(trailer) : -1;
        }
        catch (IOException)
        {
            return -1;
        }
    }

    /// <summary>Whether a complete gzip file holds exactly <paramref name="uncompressedLength"/> bytes (by its trailer), without decompressing it.</summary>
    public static bool TrailerSays(string path, long uncompressedLength)
    {
        try
        {
            using var file = FileStat.OpenRead(path, bufferSize: 0);
            return TrailerSays(file.SafeFileHandle, uncompressedLength);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
