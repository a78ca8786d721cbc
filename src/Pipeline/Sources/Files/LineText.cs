using System.Buffers;
using System.Text;
using System.Text.Unicode;
using Pipeline.Model;

namespace Pipeline.Sources.Files;

/// <summary>Copies a line read from a file into an entry, applying the <see cref="InvalidUtf8Policy"/>.</summary>
internal static class LineText
{
    /// <summary>Sets <paramref name="entry"/>'s line to <paramref name="line"/>.</summary>
    /// <param name="entry">The entry.</param>
    /// <param name="line">The raw line bytes.</param>
    /// <param name="policy">What to do with invalid UTF-8.</param>
    /// <returns>Whether invalid UTF-8 was replaced.</returns>
    public static bool SetLine(LogEntry entry, in ReadOnlySequence<byte> line, InvalidUtf8Policy policy)
    {
        entry.SetLine(line);
        if (policy == InvalidUtf8Policy.PassThrough || Utf8.IsValid(entry.Line))
        {
            return false;
        }

        ReplaceInvalid(entry);
        return true;
    }

    // Cold path: only lines that fail validation pay for the UTF-16 round trip, whose decoder substitutes U+FFFD
    // for each maximal invalid subsequence (the WHATWG / Unicode "best practice" replacement).
    private static void ReplaceInvalid(LogEntry entry)
    {
        var chars = ArrayPool<char>.Shared.Rent(entry.LineLength);
        try
        {
            var count = Encoding.UTF8.GetChars(entry.Line, chars);
            entry.SetLine(chars.AsSpan(0, count));
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }
}
