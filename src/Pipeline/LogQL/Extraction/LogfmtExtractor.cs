using System.Globalization;
using System.Text;

namespace Pipeline.LogQL.Extraction;

/// <summary>What a logfmt syntax error does: the one place Promtail's <c>logfmt</c> stage and LogQL's <c>| logfmt</c> differ.</summary>
internal enum LogfmtErrors
{
    /// <summary>Stop at the error, keeping what was extracted before it (Promtail, as go-logfmt's decoder).</summary>
    Stop,

    /// <summary>Skip the malformed pair and go on (LogQL's <c>| logfmt</c>).</summary>
    Skip,

    /// <summary>Stop at the error and report it (LogQL's <c>| logfmt --strict</c>: <c>__error__="LogfmtParserErr"</c>).</summary>
    Report,
}

/// <summary>
/// logfmt extraction (<c>key=value key2="quoted value" flag</c>) over UTF-8, for Promtail's <c>logfmt</c> stage and
/// LogQL's <c>| logfmt</c>, with the grammar of go-logfmt's decoder (which Loki's is adapted from): a key is a run of
/// bytes above space other than <c>=</c> and <c>"</c>; a key without <c>=</c> has an empty value; a bare value may not
/// contain <c>=</c> or <c>"</c>; quoted values are unescaped as JSON strings (<c>\"</c>, <c>\\</c>, <c>\n</c>,
/// <c>\uXXXX</c>...). With keys (output <c>i</c> is key <c>i</c>, every occurrence) or without (every key, through
/// <see cref="IExtractionTarget.SetKey"/>). Nothing is allocated per input once the scratch buffer has grown.
/// </summary>
internal sealed class LogfmtExtractor
{
    private readonly byte[][]? _keys;
    private readonly LogfmtErrors _errors;
    private readonly bool _keepEmpty;
    private byte[] _scratch = new byte[256];

    /// <summary>Creates an extractor.</summary>
    /// <param name="keys">The keys to extract (output <c>i</c> is <paramref name="keys"/>[i]), or <see langword="null"/> for every key.</param>
    /// <param name="errors">What a syntax error does.</param>
    /// <param name="keepEmpty">Whether empty values are extracted (Promtail; LogQL's <c>--keep-empty</c>) or skipped (LogQL's default).</param>
    public LogfmtExtractor(IReadOnlyList<string>? keys, LogfmtErrors errors, bool keepEmpty)
    {
        if (keys is not null)
        {
            _keys = new byte[keys.Count][];
            for (var i = 0; i < keys.Count; i++)
            {
                _keys[i] = Encoding.UTF8.GetBytes(keys[i]);
            }
        }

        _errors = errors;
        _keepEmpty = keepEmpty;
    }

    /// <summary>Extracts from <paramref name="input"/> into <paramref name="target"/>.</summary>
    /// <param name="input">The logfmt text.</param>
    /// <param name="target">Where values go.</param>
    /// <param name="error">With <see cref="LogfmtErrors.Report"/>, the syntax error (Loki's wording: <c>logfmt syntax error at pos 5 : unexpected '='</c>).</param>
    /// <returns>Whether no error was reported.</returns>
    public bool Extract<TTarget>(ReadOnlySpan<byte> input, ref TTarget target, out string? error)
        where TTarget : struct, IExtractionTarget
    {
        error = null;
        var pos = 0;
        while (pos < input.Length)
        {
            var result = Scan(input, ref pos, out var key, out var value, out var escaped);
            if (result is not null)
            {
                if (_errors == LogfmtErrors.Skip)
                {
                    continue;
                }

                if (_errors == LogfmtErrors.Report)
                {
                    error = result;
                    return false;
                }

                return true;
            }

            if (key.IsEmpty)
            {
                break;
            }

            if (_keys is null)
            {
                if (!TryValue(ref value, escaped, ref pos, out error))
                {
                    if (_errors == LogfmtErrors.Skip)
                    {
                        continue;
                    }

                    return _errors != LogfmtErrors.Report;
                }

                if (value.Length > 0 || _keepEmpty)
                {
                    target.SetKey(key, value);
                }

                continue;
            }

            var unquoted = false;
            for (var i = 0; i < _keys.Length; i++)
            {
                if (!key.SequenceEqual(_keys[i]))
                {
                    continue;
                }

                if (!unquoted && !TryValue(ref value, escaped, ref pos, out error))
                {
                    if (_errors == LogfmtErrors.Skip)
                    {
                        break;
                    }

                    return _errors != LogfmtErrors.Report;
                }

                unquoted = true;
                if (value.Length > 0 || _keepEmpty)
                {
                    target.Set(i, value);
                }
            }
        }

        return true;
    }

    /// <summary>Unescapes a quoted value that has escapes; reports an invalid one at <paramref name="pos"/>.</summary>
    private bool TryValue(ref ReadOnlySpan<byte> value, bool escaped, ref int pos, out string? error)
    {
        error = null;
        if (!escaped)
        {
            return true;
        }

        if (!TryUnquote(value, out var length))
        {
            error = SyntaxError(pos, "invalid quoted value");
            return false;
        }

        value = _scratch.AsSpan(0, length);
        return true;
    }

    /// <summary>
    /// Scans the next pair from <paramref name="pos"/>: an empty key at the end of the input, or an error message (the
    /// position is then after the malformed pair). <paramref name="escaped"/> says a quoted value still has escapes.
    /// </summary>
    private static string? Scan(ReadOnlySpan<byte> s, ref int pos, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out bool escaped)
    {
        key = default;
        value = default;
        escaped = false;
        while (pos < s.Length && s[pos] <= ' ')
        {
            pos++;
        }

        if (pos >= s.Length)
        {
            return null;
        }

        var start = pos;
        while (pos < s.Length && s[pos] > ' ' && s[pos] != '=' && s[pos] != '"')
        {
            pos++;
        }

        if (pos < s.Length && (s[pos] == '"' || (s[pos] == '=' && pos == start)))
        {
            return SkipValue(s, ref pos, Unexpected(pos, s[pos]));
        }

        key = s[start..pos];
        if (pos >= s.Length || s[pos] != '=')
        {
            return null;
        }

        pos++;
        if (pos >= s.Length || s[pos] <= ' ')
        {
            return null;
        }

        if (s[pos] == '"')
        {
            var open = pos;
            var escape = false;
            for (var i = pos + 1; i < s.Length; i++)
            {
                var c = s[i];
                if (escape)
                {
                    escape = false;
                }
                else if (c == '\\')
                {
                    escaped = escape = true;
                }
                else if (c == '"')
                {
                    value = s[(open + 1)..i];
                    pos = i + 1;
                    return null;
                }
            }

            pos = s.Length;
            key = default;
            return SyntaxError(pos, "unterminated quoted value");
        }

        var valueStart = pos;
        while (pos < s.Length && s[pos] > ' ')
        {
            if (s[pos] is (byte)'=' or (byte)'"')
            {
                key = default;
                return SkipValue(s, ref pos, Unexpected(pos, s[pos]));
            }

            pos++;
        }

        value = s[valueStart..pos];
        return null;
    }

    private static string SkipValue(ReadOnlySpan<byte> s, ref int pos, string error)
    {
        while (pos < s.Length && s[pos] > ' ')
        {
            pos++;
        }

        return error;
    }

    private static string Unexpected(int pos, byte c) => SyntaxError(pos, $"unexpected '{(char)c}'");

    private static string SyntaxError(int pos, string message) =>
        string.Create(CultureInfo.InvariantCulture, $"logfmt syntax error at pos {pos + 1} : {message}");

    private bool TryUnquote(ReadOnlySpan<byte> quoted, out int length)
    {
        if (_scratch.Length < quoted.Length)
        {
            _scratch = new byte[Math.Max(quoted.Length, _scratch.Length * 2)];
        }

        var o = 0;
        for (var i = 0; i < quoted.Length; i++)
        {
            var b = quoted[i];
            if (b != '\\')
            {
                _scratch[o++] = b;
                continue;
            }

            if (++i >= quoted.Length)
            {
                length = 0;
                return false;
            }

            switch (quoted[i])
            {
                case (byte)'"': _scratch[o++] = (byte)'"'; break;
                case (byte)'\\': _scratch[o++] = (byte)'\\'; break;
                case (byte)'/': _scratch[o++] = (byte)'/'; break;
                case (byte)'b': _scratch[o++] = (byte)'\b'; break;
                case (byte)'f': _scratch[o++] = (byte)'\f'; break;
                case (byte)'n': _scratch[o++] = (byte)'\n'; break;
                case (byte)'r': _scratch[o++] = (byte)'\r'; break;
                case (byte)'t': _scratch[o++] = (byte)'\t'; break;
                case (byte)'u':
                    if (i + 4 >= quoted.Length || !ushort.TryParse(quoted.Slice(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                    {
                        length = 0;
                        return false;
                    }

                    // A \uXXXX escape is at most 3 UTF-8 bytes, never more than its 6 source bytes.
                    var rune = Rune.IsValid(code) ? new Rune(code) : Rune.ReplacementChar;
                    o += rune.EncodeToUtf8(_scratch.AsSpan(o));
                    i += 4;
                    break;
                default:
                    length = 0;
                    return false;
            }
        }

        length = o;
        return true;
    }
}
