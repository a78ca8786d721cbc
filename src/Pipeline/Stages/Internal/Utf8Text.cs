using System.Text;
using System.Text.Unicode;

namespace Pipeline.Stages.Internal;

/// <summary>Small UTF-8 helpers for the stages.</summary>
internal static class Utf8Text
{
    /// <summary>Whether UTF-8 bytes spell exactly <paramref name="text"/>, without allocating.</summary>
    public static bool EqualsString(ReadOnlySpan<byte> utf8, string text)
    {
        if (utf8.Length < text.Length || utf8.Length > text.Length * 3)
        {
            return false;
        }

        Span<char> buffer = utf8.Length <= 512 ? stackalloc char[utf8.Length] : new char[utf8.Length];
        if (Utf8.ToUtf16(utf8, buffer, out _, out var written, replaceInvalidSequences: true) != System.Buffers.OperationStatus.Done)
        {
            return false;
        }

        return buffer[..written].SequenceEqual(text);
    }

    /// <summary>Decodes UTF-8 (invalid sequences become U+FFFD).</summary>
    public static string GetString(ReadOnlySpan<byte> utf8) => Encoding.UTF8.GetString(utf8);

    /// <summary>Whether the bytes are valid UTF-8 (a Prometheus label value must be).</summary>
    public static bool IsValid(ReadOnlySpan<byte> utf8) => Utf8.IsValid(utf8);
}
