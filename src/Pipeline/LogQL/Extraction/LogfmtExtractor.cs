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
        // One loop over the line with its position in a local (no call and no address-taken state per pair): this is
        // the agent's per-line hot path.
        var s = input;
        var i = 0;
        while (true)
        {
            while (i < s.Length && s[i] <= ' ')
            {
                i++;
            }

            if (i >= s.Length)
            {
                break;
            }

            string? syntax = null;
            var keyStart = i;
            while (i < s.Length && s[i] > ' ' && s[i] != '=' && s[i] != '"')
            {
                i++;
            }

            var key = s[keyStart..i];
            ReadOnlySpan<byte> value = default;
            var escaped = false;
            if (i < s.Length && (s[i] == '"' || (s[i] == '=' && i == keyStart)))
            {
                syntax = Unexpected(i, s[i]);
            }
            else if (i < s.Length && s[i] == '=' && ++i < s.Length && s[i] > ' ')
            {
                if (s[i] == '"')
                {
                    var open = i;
                    var escape = false;
                    for (i++; i < s.Length; i++)
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
                            break;
                        }
                    }

                    if (i >= s.Length)
                    {
                        syntax = SyntaxError(i, "unterminated quoted value");
                    }
                    else
                    {
                        value = s[(open + 1)..i];
                        i++;
                    }
                }
                else
                {
                    var valueStart = i;
                    while (i < s.Length && s[i] > ' ' && s[i] != '=' && s[i] != '"')
                    {
                        i++;
                    }

                    if (i < s.Length && s[i] > ' ')
                    {
                        // go-logfmt: '=' or '"' in a bare value.
                        syntax = Unexpected(i, s[i]);
                    }
                    else
                    {
                        value = s[valueStart..i];
                    }
                }
            }

            if (syntax is null)
            {
                syntax = Emit(key, value, escaped, i, ref target);
                if (syntax is null)
                {
                    continue;
                }
            }
            else
            {
                // The rest of the malformed pair goes.
                while (i < s.Length && s[i] > ' ')
                {
                    i++;
                }
            }

            switch (_errors)
            {
                case LogfmtErrors.Skip:
                    continue;
                case LogfmtErrors.Report:
                    error = syntax;
                    return false;
                default:
                    error = null;
                    return true;
            }
        }

        error = null;
        return true;
    }

    /// <summary>Sets one pair (unquoting its value only when it is wanted); an invalid quoted value is a syntax error at <paramref name="pos"/>.</summary>
    private string? Emit<TTarget>(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool escaped, int pos, ref TTarget target)
        where TTarget : struct, IExtractionTarget
    {
        if (_keys is null)
        {
            if (escaped && !TryUnquote(ref value))
            {
                return SyntaxError(pos, "invalid quoted value");
            }

            if (value.Length > 0 || _keepEmpty)
            {
                target.SetKey(key, value);
            }

            return null;
        }

        for (var k = 0; k < _keys.Length; k++)
        {
            if (!key.SequenceEqual(_keys[k]))
            {
                continue;
            }

            if (escaped)
            {
                if (!TryUnquote(ref value))
                {
                    return SyntaxError(pos, "invalid quoted value");
                }

                escaped = false;
            }

            if (value.Length > 0 || _keepEmpty)
            {
                target.Set(k, value);
            }
        }

        return null;
    }

    private static string Unexpected(int pos, byte c) => SyntaxError(pos, $"unexpected '{(char)c}'");

    private static string SyntaxError(int pos, string message) =>
        string.Create(CultureInfo.InvariantCulture, $"logfmt syntax error at pos {pos + 1} : {message}");

    private bool TryUnquote(ref ReadOnlySpan<byte> value)
    {
        if (!TryUnquote(value, out var length))
        {
            return false;
        }

        value = _scratch.AsSpan(0, length);
        return true;
    }

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
