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
        buffer = buffer[..Math.Min(length, Size)];
        var total = 0;
        while (total < buffer.Length)
        {
            var read = RandomAccess.Read(handle, buffer[total..], total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return new FileFingerprint(Compute(buffer[..total]), total);
    }

    /// <summary>Whether the file's leading bytes still match: compares this fingerprint's prefix of <paramref name="handle"/>.</summary>
    /// <param name="handle">The file now found under the identity.</param>
    /// <returns>Whether the first <see cref="Length"/> bytes hash the same.</returns>
    public bool Matches(SafeFileHandle handle)
    {
        var current = Read(handle, Length);
        return current.Length == Length && current.Hash == Hash;
    }
}
