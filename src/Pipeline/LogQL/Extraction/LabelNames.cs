using System.Text;
using Pipeline.Model;

namespace Pipeline.LogQL.Extraction;

/// <summary>How LogQL turns a key found in a line into a label name: every character that is not <c>[a-zA-Z0-9_]</c> becomes <c>_</c>, and a leading digit gets a <c>_</c> in front.</summary>
internal static class LabelNames
{
    private static readonly System.Buffers.SearchValues<byte> s_nameBytes =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"u8);

    /// <summary>Whether a UTF-8 key is already a valid label name (needs no sanitizing).</summary>
    public static bool IsValid(ReadOnlySpan<byte> key) =>
        !key.IsEmpty && !char.IsAsciiDigit((char)key[0]) && key.IndexOfAnyExcept(s_nameBytes) < 0;

    /// <summary>The label name for <paramref name="key"/> (the same string when it is already valid).</summary>
    public static string Sanitize(string key)
    {
        if (Label.IsValidName(key))
        {
            return key;
        }

        if (key.Length == 0)
        {
            return "_";
        }

        var builder = new StringBuilder(key.Length + 1);
        if (char.IsAsciiDigit(key[0]))
        {
            builder.Append('_');
        }

        foreach (var rune in key.EnumerateRunes())
        {
            builder.Append(rune.IsAscii && (char.IsAsciiLetterOrDigit((char)rune.Value) || rune.Value == '_') ? (char)rune.Value : '_');
        }

        return builder.ToString();
    }

    /// <summary>Appends the sanitized form of a UTF-8 key (one <c>_</c> per character that is not allowed).</summary>
    /// <returns>The bytes written.</returns>
    public static int AppendSanitized(ReadOnlySpan<byte> key, ref byte[] buffer, int offset)
    {
        // At most one byte per input byte, plus a leading '_' (and "_" for an empty key).
        Ensure(ref buffer, offset + key.Length + 1);
        var o = offset;
        if (key.IsEmpty)
        {
            buffer[o++] = (byte)'_';
            return 1;
        }

        if (char.IsAsciiDigit((char)key[0]))
        {
            buffer[o++] = (byte)'_';
        }

        while (!key.IsEmpty)
        {
            var b = key[0];
            if (b < 0x80)
            {
                buffer[o++] = char.IsAsciiLetterOrDigit((char)b) || b == '_' ? b : (byte)'_';
                key = key[1..];
                continue;
            }

            Rune.DecodeFromUtf8(key, out _, out var consumed);
            buffer[o++] = (byte)'_';
            key = key[consumed..];
        }

        return o - offset;
    }

    internal static void Ensure(ref byte[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            Array.Resize(ref buffer, Math.Max(length, buffer.Length * 2));
        }
    }
}
