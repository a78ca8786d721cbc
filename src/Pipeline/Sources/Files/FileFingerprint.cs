using Microsoft.Win32.SafeHandles;

namespace Pipeline.Sources.Files;

/// <summary>
/// A hash of a file's first bytes, stored with its position so that a new file that got a recycled inode is not
/// resumed at the old file's offset (Vector's checksum fingerprint does the same).
/// </summary>
/// <param name="Hash">FNV-1a 64 of the first <paramref name="Length"/> bytes.</param>
/// <param name="Length">How many bytes were hashed (fewer than <see cref="Size"/> while the file is shorter).</param>
internal readonly record struct FileFingerprint(ulong Hash, int Length)
{
    /// <summary>How many leading bytes a full fingerprint covers.</summary>
    public const int Size = 64;

    /// <summary>The fingerprint of an empty file (nothing to compare).</summary>
    public static FileFingerprint Empty => new(Compute([]), 0);

    /// <summary>Whether it covers <see cref="Size"/> bytes (a shorter file's fingerprint is recomputed as it grows).</summary>
    public bool IsComplete => Length >= Size;

    /// <summary>Hashes <paramref name="bytes"/> (FNV-1a 64: stable across processes and versions, unlike <see cref="HashCode"/>).</summary>
    /// <param name="bytes">The bytes.</param>
    /// <returns>The hash.</returns>
    public static ulong Compute(ReadOnlySpan<byte> bytes)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }

    /// <summary>Reads and hashes up to <paramref name="length"/> leading bytes of an open file.</summary>
    /// <param name="handle">The file.</param>
    /// <param name="length">At most this many bytes (at most <see cref="Size"/>).</param>
    /// <returns>The fingerprint of what could be read.</returns>
    public static FileFingerprint Read(SafeFileHandle handle, int length = Size)
    {
        Span<byte> buffer = stackalloc byte[Size];
        var total = ReadHead(handle, buffer[..Math.Min(length, Size)]);
        return new FileFingerprint(Compute(buffer[..total]), total);
    }

    /// <summary>The fingerprint of <paramref name="head"/>, a file's first bytes (at most <see cref="Size"/> are used).</summary>
    public static FileFingerprint Of(ReadOnlySpan<byte> head)
    {
        head = head[..Math.Min(head.Length, Size)];
        return new FileFingerprint(Compute(head), head.Length);
    }

    /// <summary>
    /// Reads up to <see cref="Size"/> first bytes of a file, of its uncompressed content for a compressed one.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="compressed">Whether it is gzip-compressed.</param>
    /// <param name="head">At least <see cref="Size"/> bytes to fill.</param>
    /// <returns>How many bytes were read, or -1 when it cannot be read.</returns>
    public static int ReadHead(string path, bool compressed, Span<byte> head)
    {
        head = head[..Size];
        if (compressed)
        {
            return CompressedLog.ReadHead(path, head);
        }

        try
        {
            using var file = FileStat.OpenRead(path, bufferSize: 0);
            return ReadHead(file.SafeFileHandle, head);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }

    /// <summary>What <see cref="ReadHead(string, bool, FileIdentity, Span{byte})"/> returns when the path names another file now.</summary>
    public const int Moved = -2;

    /// <summary>
    /// Reads up to <see cref="Size"/> first bytes of the file at <paramref name="path"/> (uncompressed, for a
    /// compressed one) only if it is still the file <paramref name="identity"/> names: a rotation renames files between
    /// a directory listing and the reads that follow it, and a head read from the next file to take the name would
    /// be taken for the listed file's.
    /// </summary>
    /// <returns>How many bytes were read; -1 when it cannot be read; <see cref="Moved"/> when another file is at the path now.</returns>
    public static int ReadHead(string path, bool compressed, FileIdentity identity, Span<byte> head)
    {
        head = head[..Size];
        try
        {
            using var file = compressed ? CompressedLog.Open(path) : FileStat.OpenRead(path, bufferSize: 0);
            if (!FileStat.TryStat(file.SafeFileHandle, path, out var status) || status.Identity != identity)
            {
                return Moved;
            }

            if (!compressed)
            {
                return ReadHead(file.SafeFileHandle, head);
            }

            using var gzip = CompressedLog.Decompress(file);
            return gzip.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        catch (FileNotFoundException)
        {
            return Moved;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return -1;
        }
    }

    /// <summary>Reads up to <see cref="Size"/> first bytes of an open file into <paramref name="head"/>.</summary>
    /// <returns>How many bytes were read.</returns>
    public static int ReadHead(SafeFileHandle handle, Span<byte> head)
    {
        head = head[..Math.Min(head.Length, Size)];
        var total = 0;
        while (total < head.Length)
        {
            var read = RandomAccess.Read(handle, head[total..], total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    /// <summary>
    /// Whether a file whose first bytes are <paramref name="head"/> is the file this fingerprint was taken of: its
    /// first <see cref="Length"/> bytes hash the same. An empty fingerprint matches nothing (it says nothing).
    /// </summary>
    public bool MatchesHead(ReadOnlySpan<byte> head) => Length > 0 && head.Length >= Length && Compute(head[..Length]) == Hash;

    /// <summary>Whether the file's leading bytes still match: compares this fingerprint's prefix of <paramref name="handle"/>.</summary>
    /// <param name="handle">The file now found under the identity.</param>
    /// <returns>Whether the first <see cref="Length"/> bytes hash the same.</returns>
    public bool Matches(SafeFileHandle handle)
    {
        var current = Read(handle, Length);
        return current.Length == Length && current.Hash == Hash;
    }
}
