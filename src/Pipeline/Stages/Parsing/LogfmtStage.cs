using System.Buffers;
using System.Text;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Stages.Parsing;

/// <summary>
/// Promtail's <c>logfmt</c> stage: extracts the mapped keys of a <c>key=value key2="quoted value"</c> line (or of the
/// extracted value named by <c>source</c>). A key without <c>=</c> has an empty value; quoted values are unescaped
/// (<c>\"</c>, <c>\\</c>, <c>\n</c>, <c>\t</c>, <c>\r</c>, <c>\uXXXX</c>...). As in go-logfmt, parsing stops at the first
/// syntax error, keeping what was extracted before it.
/// </summary>
public sealed class LogfmtStage : ILogStage
{
    private readonly (byte[] Key, string Name)[] _mapping;
    private readonly string? _source;
    private byte[] _scratch = new byte[256];

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">The mapping is empty or names an empty key.</exception>
    public LogfmtStage(LogfmtStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Mapping is null || options.Mapping.Count == 0)
        {
            throw new StageOptionsException("logfmt", "mapping", null, "at least one 'name: key' pair");
        }

        if (options.Source is { Length: 0 })
        {
            throw new StageOptionsException("logfmt", "source", string.Empty, "the name of an extracted value, or no source to parse the line");
        }

        var mapping = new List<(byte[], string)>();
        foreach (var (name, key) in options.Mapping)
        {
            if (string.IsNullOrEmpty(name))
            {
                throw new StageOptionsException("logfmt", "mapping", name, "a non-empty extracted name");
            }

            var k = string.IsNullOrEmpty(key) ? name : key;
            if (k.AsSpan().IndexOfAny(" =\"") >= 0)
            {
                throw new StageOptionsException("logfmt", $"mapping.{name}", k, "a logfmt key (no spaces, '=' or '\"')");
            }

            mapping.Add((Encoding.UTF8.GetBytes(k), name));
        }

        _mapping = [.. mapping];
        _source = options.Source;
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public LogfmtStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (_source is null)
        {
            Parse(entry.Line, entry.Extracted);
            return StageResult.Keep;
        }

        if (!entry.Extracted.TryGetValue(_source, out var value))
        {
            return StageResult.Keep;
        }

        // Setting extracted values may move the arena the source lives in: parse a copy.
        var copy = ArrayPool<byte>.Shared.Rent(value.Length);
        value.CopyTo(copy);
        Parse(copy.AsSpan(0, value.Length), entry.Extracted);
        ArrayPool<byte>.Shared.Return(copy);
        return StageResult.Keep;
    }

    private void Parse(ReadOnlySpan<byte> s, LogFields extracted)
    {
        var i = 0;
        while (true)
        {
            while (i < s.Length && s[i] <= ' ')
            {
                i++;
            }

            if (i >= s.Length)
            {
                return;
            }

            var keyStart = i;
            while (i < s.Length && s[i] > ' ' && s[i] != '=' && s[i] != '"')
            {
                i++;
            }

            if (i == keyStart)
            {
                return; // '=' or '"' where a key should start: a syntax error.
            }

            var key = s[keyStart..i];
            ReadOnlySpan<byte> value = default;
            if (i < s.Length && s[i] == '=')
            {
                i++;
                if (i < s.Length && s[i] == '"')
                {
                    var end = i + 1;
                    var escaped = false;
                    while (end < s.Length && s[end] != '"')
                    {
                        if (s[end] == '\\')
                        {
                            escaped = true;
                            end++;
                        }

                        end++;
                    }

                    if (end >= s.Length)
                    {
                        return; // unterminated quote
                    }

                    value = s[(i + 1)..end];
                    i = end + 1;
                    if (escaped && IsMapped(key))
                    {
                        if (!TryUnquote(value, out var length))
                        {
                            return;
                        }

                        value = _scratch.AsSpan(0, length);
                    }
                }
                else
                {
                    var start = i;
                    while (i < s.Length && s[i] > ' ')
                    {
                        if (s[i] == '"' || s[i] == '=')
                        {
                            return; // go-logfmt: unexpected '"' or '=' in a bare value
                        }

                        i++;
                    }

                    value = s[start..i];
                }
            }
            else if (i < s.Length && s[i] == '"')
            {
                return;
            }

            foreach (var (k, name) in _mapping)
            {
                if (key.SequenceEqual(k))
                {
                    extracted.Set(name, value);
                }
            }
        }
    }

    private bool IsMapped(ReadOnlySpan<byte> key)
    {
        foreach (var (k, _) in _mapping)
        {
            if (key.SequenceEqual(k))
            {
                return true;
            }
        }

        return false;
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
                    if (i + 4 >= quoted.Length || !ushort.TryParse(quoted.Slice(i + 1, 4), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var code))
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
