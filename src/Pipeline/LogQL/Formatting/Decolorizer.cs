namespace Pipeline.LogQL.Formatting;

/// <summary>
/// Removes ANSI escape sequences (colors and other CSI sequences such as <c>ESC[31m</c>, <c>ESC[1;32m</c>,
/// <c>ESC[0K</c>) from UTF-8 text in place, for Promtail's <c>decolorize</c> stage and LogQL's <c>| decolorize</c>
/// (Promtail's stage is Loki's decolorizer). Other bytes, invalid UTF-8 included, are kept.
/// </summary>
internal static class Decolorizer
{
    /// <summary>Whether <paramref name="text"/> has an escape byte at all (most lines do not: nothing to do).</summary>
    public static bool MayHaveEscapes(ReadOnlySpan<byte> text) => text.IndexOf((byte)0x1b) >= 0;

    /// <summary>Compacts <paramref name="buffer"/> without its escape sequences (the result is never longer).</summary>
    /// <returns>The new length.</returns>
    public static int Strip(Span<byte> buffer)
    {
        var first = buffer.IndexOf((byte)0x1b);
        if (first < 0)
        {
            return buffer.Length;
        }

        var write = first;
        var read = first;
        while (read < buffer.Length)
        {
            var b = buffer[read];
            if (b == 0x1b && read + 1 < buffer.Length && buffer[read + 1] == '[')
            {
                var end = read + 2;
                while (end < buffer.Length && buffer[end] >= 0x20 && buffer[end] <= 0x3f)
                {
                    end++; // parameter and intermediate bytes
                }

                if (end < buffer.Length && buffer[end] >= 0x40 && buffer[end] <= 0x7e)
                {
                    read = end + 1;
                    continue;
                }
            }

            buffer[write++] = b;
            read++;
        }

        return write;
    }
}
