using System.Globalization;
using System.Text;

namespace Pipeline.Model;

/// <summary>
/// The Prometheus/Loki text form of a label set, <c>{a="b", c="d"}</c>: formatting with Prometheus escaping
/// (<c>\\</c>, <c>\"</c>, <c>\n</c>) and parsing that also accepts the escapes Go's <c>strconv.Quote</c> writes,
/// so label strings from Go clients (Promtail, logcli) parse too.
/// </summary>
internal static class LabelText
{
    public static string EscapeValue(string value)
    {
        if (value.AsSpan().IndexOfAny('\\', '"', '\n') < 0)
        {
            return value;
        }

        var builder = new StringBuilder(value.Length + 8);
        AppendEscaped(builder, value);
        return builder.ToString();
    }

    /// <summary>Appends <paramref name="value"/> with Prometheus escaping; <paramref name="go"/> also escapes <c>\r</c> and <c>\t</c>, as Go's <c>strconv.Quote</c>.</summary>
    public static void AppendEscaped(StringBuilder builder, string value, bool go = false)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\': builder.Append("\\\\"); break;
                case '"': builder.Append("\\\""); break;
                case '\n': builder.Append("\\n"); break;
                case '\r' when go: builder.Append("\\r"); break;
                case '\t' when go: builder.Append("\\t"); break;
                default: builder.Append(c); break;
            }
        }
    }

    /// <summary>A string as LogQL and Go's <c>strconv.Quote</c> write it, in double quotes.</summary>
    public static string Quote(string value)
    {
        var builder = new StringBuilder(value.Length + 2).Append('"');
        AppendEscaped(builder, value, go: true);
        return builder.Append('"').ToString();
    }

    public static string Format(ReadOnlySpan<Label> labels)
    {
        if (labels.IsEmpty)
        {
            return "{}";
        }

        var builder = new StringBuilder(labels.Length * 24);
        builder.Append('{');
        for (var i = 0; i < labels.Length; i++)
        {
            if (i > 0)
            {
                builder.Append(", ");
            }

            builder.Append(labels[i].Name).Append("=\"");
            AppendEscaped(builder, labels[i].Value);
            builder.Append('"');
        }

        return builder.Append('}').ToString();
    }

    /// <summary>Parses <c>{name="value", ...}</c>; on failure <paramref name="error"/> says what and where.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, List<Label> labels, out string? error)
    {
        var pos = SkipSpace(text, 0);
        if (pos >= text.Length || text[pos] != '{')
        {
            error = Describe(text, pos, "expected '{'");
            return false;
        }

        pos = SkipSpace(text, pos + 1);
        if (pos < text.Length && text[pos] == '}')
        {
            return Finish(text, pos + 1, out error);
        }

        var value = new StringBuilder();
        while (true)
        {
            var nameStart = pos;
            while (pos < text.Length && (char.IsAsciiLetterOrDigit(text[pos]) || text[pos] == '_'))
            {
                pos++;
            }

            var name = text[nameStart..pos];
            if (name.IsEmpty)
            {
                error = Describe(text, pos, "expected a label name");
                return false;
            }

            if (!Label.IsValidName(name))
            {
                error = Describe(text, nameStart, $"invalid label name '{name}'");
                return false;
            }

            pos = SkipSpace(text, pos);
            if (pos >= text.Length || text[pos] != '=')
            {
                error = Describe(text, pos, $"expected '=' after label name '{name}'");
                return false;
            }

            pos = SkipSpace(text, pos + 1);
            if (pos >= text.Length || text[pos] != '"')
            {
                error = Describe(text, pos, $"expected '\"' to open the value of label '{name}'");
                return false;
            }

            pos++;
            value.Clear();
            if (!TryReadQuoted(text, ref pos, value, out error))
            {
                return false;
            }

            labels.Add(new Label(name.ToString(), value.ToString()));
            pos = SkipSpace(text, pos);
            if (pos >= text.Length)
            {
                error = Describe(text, pos, "expected ',' or '}'");
                return false;
            }

            if (text[pos] == '}')
            {
                return Finish(text, pos + 1, out error);
            }

            if (text[pos] != ',')
            {
                error = Describe(text, pos, "expected ',' or '}'");
                return false;
            }

            pos = SkipSpace(text, pos + 1);
            if (pos < text.Length && text[pos] == '}')
            {
                // A trailing comma is accepted, as PromQL's selector parser does.
                return Finish(text, pos + 1, out error);
            }
        }
    }

    private static bool TryReadQuoted(ReadOnlySpan<char> text, ref int pos, StringBuilder value, out string? error)
    {
        while (true)
        {
            var rest = text[pos..];
            var special = rest.IndexOfAny('"', '\\');
            if (special < 0)
            {
                error = Describe(text, text.Length, "unterminated quoted value");
                return false;
            }

            value.Append(rest[..special]);
            pos += special;
            if (text[pos] == '"')
            {
                pos++;
                error = null;
                return true;
            }

            // Backslash escape.
            var escapeAt = pos;
            pos++;
            if (pos >= text.Length)
            {
                error = Describe(text, text.Length, "unterminated quoted value");
                return false;
            }

            if (!TryReadEscape(text, ref pos, value))
            {
                error = Describe(text, escapeAt, $"invalid escape sequence '\\{text[escapeAt + 1]}'");
                return false;
            }
        }
    }

    /// <summary>
    /// Reads the escape of a Go string after its backslash (<paramref name="pos"/> is on the letter) and appends what it
    /// stands for: <c>\\ \" \' \n \t \r \a \b \f \v</c>, <c>\uXXXX</c>, <c>\UXXXXXXXX</c>, and <c>\xHH</c> runs read
    /// as UTF-8 bytes, as Go does. Shared by label strings and LogQL's lexer.
    /// </summary>
    /// <returns>Whether it is a valid escape (<paramref name="pos"/> is then after it).</returns>
    internal static bool TryReadEscape(ReadOnlySpan<char> text, ref int pos, StringBuilder value)
    {
        var c = text[pos++];
        switch (c)
        {
            case '\\': value.Append('\\'); return true;
            case '"': value.Append('"'); return true;
            case '\'': value.Append('\''); return true;
            case 'n': value.Append('\n'); return true;
            case 't': value.Append('\t'); return true;
            case 'r': value.Append('\r'); return true;
            case 'a': value.Append('\a'); return true;
            case 'b': value.Append('\b'); return true;
            case 'f': value.Append('\f'); return true;
            case 'v': value.Append('\v'); return true;
            case 'x':
                // Go reads \xHH as a raw byte: a run of them is UTF-8 (invalid bytes become U+FFFD).
                return TryReadHexBytes(text, ref pos, value);
            case 'u' or 'U':
                var digits = c == 'u' ? 4 : 8;
                if (pos + digits > text.Length
                    || !uint.TryParse(text.Slice(pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code)
                    || !Rune.IsValid(code))
                {
                    return false;
                }

                value.Append(new Rune(code).ToString());
                pos += digits;
                return true;
            default:
                return false;
        }
    }

    /// <summary>Reads the two hex digits after a <c>\x</c> at <paramref name="pos"/>, plus any <c>\xHH</c> that follow, as UTF-8.</summary>
    private static bool TryReadHexBytes(ReadOnlySpan<char> text, ref int pos, StringBuilder value)
    {
        Span<byte> bytes = stackalloc byte[64];
        var count = 0;
        while (true)
        {
            if (pos + 2 > text.Length
                || !byte.TryParse(text.Slice(pos, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
            {
                return false;
            }

            if (count == bytes.Length)
            {
                value.Append(Encoding.UTF8.GetString(bytes[..count]));
                count = 0;
            }

            bytes[count++] = b;
            pos += 2;
            if (pos + 3 < text.Length && text[pos] == '\\' && text[pos + 1] == 'x')
            {
                pos += 2;
                continue;
            }

            value.Append(Encoding.UTF8.GetString(bytes[..count]));
            return true;
        }
    }

    private static bool Finish(ReadOnlySpan<char> text, int pos, out string? error)
    {
        pos = SkipSpace(text, pos);
        if (pos != text.Length)
        {
            error = Describe(text, pos, "unexpected text after '}'");
            return false;
        }

        error = null;
        return true;
    }

    private static int SkipSpace(ReadOnlySpan<char> text, int pos)
    {
        while (pos < text.Length && char.IsWhiteSpace(text[pos]))
        {
            pos++;
        }

        return pos;
    }

    private static string Describe(ReadOnlySpan<char> text, int pos, string what)
    {
        var found = pos >= text.Length ? "end of input" : $"'{text[pos]}'";
        return $"{what} at position {pos} (found {found})";
    }
}
