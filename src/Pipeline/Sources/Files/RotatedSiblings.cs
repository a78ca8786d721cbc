using System.Globalization;

namespace Pipeline.Sources.Files;

/// <summary>A rotated generation of a target found next to it: <c>0.log.20240101-101010</c>, <c>app.log.1</c>, <c>app.log.2.gz</c>.</summary>
/// <param name="Path">Its path.</param>
/// <param name="Identity">Its device and inode.</param>
/// <param name="Size">Its size on disk (compressed, for a <c>.gz</c>).</param>
/// <param name="ModifiedNs">Its modification time, Unix nanoseconds.</param>
/// <param name="Compressed">Whether it is gzip-compressed (the offsets that matter are of its uncompressed content).</param>
/// <param name="Suffix">What follows the target's name, without <c>.gz</c>: the rotation's timestamp or number.</param>
internal sealed record RotatedFile(string Path, FileIdentity Identity, long Size, long ModifiedNs, bool Compressed, string Suffix);

/// <summary>
/// Finds the rotated generations of a target in its directory, by the kubelet's and logrotate's naming: the target's
/// file name, then <c>.</c> or <c>-</c>, then a timestamp or number, optionally <c>.gz</c>; and orders them oldest first.
/// </summary>
/// <remarks>
/// Order: a number is logrotate's count, where a higher number is older (<c>app.log.3.gz</c> before <c>app.log.1</c>);
/// anything else is a timestamp (kubelet's <c>20060102-150405</c>, logrotate's <c>dateext</c>), which sorts as text.
/// Temporary files (the kubelet's <c>.gz.tmp</c> while it compresses) and compressions the BCL cannot read
/// (<c>.bz2</c>, <c>.xz</c>, <c>.zst</c>, ...) are not generations: they are neither read nor matched.
/// </remarks>
internal static class RotatedSiblings
{
    private const int MaxCountDigits = 6;

    private static readonly string[] s_unreadable = [".tmp", ".bz2", ".xz", ".zst", ".zip", ".lz4", ".Z", ".lzma", ".br"];

    /// <summary>Whether <paramref name="candidate"/> names a rotated generation of the file named <paramref name="targetName"/>.</summary>
    /// <param name="targetName">The target's file name (<c>0.log</c>).</param>
    /// <param name="candidate">Another file name in the same directory.</param>
    /// <param name="suffix">The rotation suffix, without <c>.gz</c>.</param>
    /// <param name="compressed">Whether it ends in <c>.gz</c>.</param>
    /// <returns>Whether it is a generation.</returns>
    public static bool IsGeneration(string targetName, string candidate, out string suffix, out bool compressed)
    {
        suffix = string.Empty;
        compressed = false;
        if (candidate.Length < targetName.Length + 2
            || !candidate.StartsWith(targetName, StringComparison.Ordinal)
            || candidate[targetName.Length] is not ('.' or '-'))
        {
            return false;
        }

        foreach (var extension in s_unreadable)
        {
            if (candidate.EndsWith(extension, StringComparison.Ordinal))
            {
                return false;
            }
        }

        var rest = candidate.AsSpan(targetName.Length + 1);
        if (rest.EndsWith(".gz", StringComparison.Ordinal))
        {
            compressed = true;
            rest = rest[..^3];
        }

        if (rest.IsEmpty)
        {
            return false;
        }

        suffix = rest.ToString();
        return true;
    }

    /// <summary>Compares two generations of one target by age: negative when <paramref name="a"/> is older.</summary>
    public static int CompareAge(string a, string b)
    {
        var aCount = TryCount(a, out var aNumber);
        var bCount = TryCount(b, out var bNumber);
        if (aCount && bCount)
        {
            // logrotate: .1 is the newest.
            return bNumber.CompareTo(aNumber);
        }

        if (aCount != bCount)
        {
            // Mixed schemes are unusual; a timestamped file is taken as older than a numbered one.
            return aCount ? 1 : -1;
        }

        return string.CompareOrdinal(a, b);
    }

    /// <summary>The generations of every target in one directory, oldest first, from one listing of it.</summary>
    /// <param name="names">The directory's file names (one listing, shared by the targets in it).</param>
    /// <param name="directory">The directory.</param>
    /// <param name="targetName">The target's file name.</param>
    /// <returns>The generations that could be stat'ed, oldest first.</returns>
    public static List<RotatedFile> Find(IReadOnlyList<string> names, string directory, string targetName)
    {
        var found = new List<RotatedFile>();
        foreach (var name in names)
        {
            if (IsGeneration(targetName, name, out var suffix, out var compressed))
            {
                var path = Path.Combine(directory, name);
                if (FileStat.TryStat(path, out var status))
                {
                    found.Add(new RotatedFile(path, status.Identity, status.Size, status.ModifiedNs, compressed, suffix));
                }
            }
        }

        // A file and its compressed form (while the kubelet compresses) share a suffix; the plain one sorts first.
        found.Sort(static (a, b) =>
        {
            var age = CompareAge(a.Suffix, b.Suffix);
            return age != 0 ? age : a.Compressed.CompareTo(b.Compressed);
        });
        return found;
    }

    /// <summary>Lists the file names of <paramref name="directory"/> (empty when it is gone or unreadable).</summary>
    public static string[] List(string directory)
    {
        try
        {
            return [.. Directory.EnumerateFiles(directory).Select(System.IO.Path.GetFileName).OfType<string>()];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static bool TryCount(string suffix, out long number)
    {
        number = 0;
        return suffix.Length <= MaxCountDigits && long.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out number);
    }
}
