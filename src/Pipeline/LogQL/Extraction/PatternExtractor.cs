using System.Text;
using Pipeline.Model;

namespace Pipeline.LogQL.Extraction;

/// <summary>
/// Loki's <c>pattern</c> parser, for LogQL's <c>| pattern</c> and the agent's <c>pattern</c> stage, over UTF-8:
/// <c>&lt;name&gt;</c> captures text up to the literal that follows it, <c>&lt;_&gt;</c> skips it, everything else is a
/// literal. A leading literal must be at the start of the input; a capture with no literal after it takes the rest;
/// when a literal is not found, the capture before it takes the rest and matching stops (a partial match still
/// extracts what it can). Output <c>i</c> is the <c>i</c>-th named capture (<see cref="Names"/>).
/// </summary>
internal sealed class PatternExtractor
{
    // Part.Output: -1 for a literal, Skip for <_>, else the output number.
    private const int Skip = -2;

    private readonly Part[] _parts;

    /// <summary>Parses a pattern.</summary>
    /// <param name="pattern">The pattern, such as <c>&lt;ip&gt; - &lt;_&gt; "&lt;method&gt; &lt;path&gt; &lt;_&gt;"</c>.</param>
    /// <exception cref="FormatException">No named capture, two captures without a literal between them, or a duplicate name.</exception>
    public PatternExtractor(string pattern)
        : this(pattern, lineFilter: false)
    {
    }

    private PatternExtractor(string pattern, bool lineFilter)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var parts = new List<Part>();
        var names = new List<string>();
        var literal = new StringBuilder();
        var i = 0;
        while (i < pattern.Length)
        {
            if (pattern[i] == '<')
            {
                var end = pattern.IndexOf('>', i + 1);
                if (end > i + 1 && IsCaptureName(pattern.AsSpan(i + 1, end - i - 1)))
                {
                    if (literal.Length > 0)
                    {
                        parts.Add(new Part(-1, Encoding.UTF8.GetBytes(literal.ToString())));
                        literal.Clear();
                    }

                    var name = pattern[(i + 1)..end];
                    if (parts.Count > 0 && parts[^1].Output != -1)
                    {
                        var previous = parts[^1].Output < 0 ? "_" : names[parts[^1].Output];
                        throw new FormatException($"a literal between two captures is required (found <{previous}><{name}> at position {i})");
                    }

                    var output = Skip;
                    if (name != "_" && lineFilter)
                    {
                        throw new FormatException($"named captures are not allowed: found '<{name}>'");
                    }

                    if (name != "_")
                    {
                        if (names.Contains(name))
                        {
                            throw new FormatException($"capture names must be unique (<{name}> appears twice)");
                        }

                        output = names.Count;
                        names.Add(name);
                    }

                    parts.Add(new Part(output, []));
                    i = end + 1;
                    continue;
                }
            }

            literal.Append(pattern[i]);
            i++;
        }

        if (literal.Length > 0)
        {
            parts.Add(new Part(-1, Encoding.UTF8.GetBytes(literal.ToString())));
        }

        if (names.Count == 0 && !lineFilter)
        {
            throw new FormatException("at least one named capture such as <name> is required (<_> only skips)");
        }

        _parts = [.. parts];
        Names = names;
    }

    /// <summary>A pattern of the <c>|&gt;</c> and <c>!&gt;</c> line filters: literals and <c>&lt;_&gt;</c> only.</summary>
    /// <exception cref="FormatException">A named capture, or two captures without a literal between them.</exception>
    public static PatternExtractor ForLineFilter(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return new PatternExtractor(pattern, lineFilter: true);
    }

    /// <summary>
    /// Whether the whole line matches, as Loki's pattern line filter decides: the literals appear in order, none right
    /// after the previous one (an empty capture), and the line ends with the last literal unless a capture ends the
    /// pattern, which then needs some text.
    /// </summary>
    public bool Test(ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty || _parts.Length == 0)
        {
            return line.IsEmpty && _parts.Length == 0;
        }

        var offset = 0;
        for (var i = 0; i < _parts.Length; i++)
        {
            if (_parts[i].Output != -1)
            {
                continue;
            }

            var literal = _parts[i].Literal;
            var at = line[offset..].IndexOf(literal);
            if (at < 0 || (i != 0 && at == 0))
            {
                return false;
            }

            offset += at + literal.Length;
        }

        var endsOnCapture = _parts[^1].Output != -1;
        return endsOnCapture == (offset != line.Length);
    }

    /// <summary>The named captures, in order: output <c>i</c> is <c>Names[i]</c>.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Matches <paramref name="input"/>, setting the captures found.</summary>
    public void Extract<TTarget>(ReadOnlySpan<byte> input, ref TTarget target)
        where TTarget : struct, IExtractionTarget
    {
        if (input.IsEmpty)
        {
            return;
        }

        var parts = _parts.AsSpan();
        if (parts[0].Output == -1)
        {
            if (!input.StartsWith(parts[0].Literal))
            {
                return;
            }

            input = input[parts[0].Literal.Length..];
            parts = parts[1..];
        }

        while (!parts.IsEmpty)
        {
            var capture = parts[0].Output;
            if (parts.Length == 1)
            {
                Set(capture, input, ref target);
                return;
            }

            var literal = parts[1].Literal;
            parts = parts[2..];
            var at = input.IndexOf(literal);
            if (at < 0)
            {
                Set(capture, input, ref target);
                return;
            }

            Set(capture, input[..at], ref target);
            input = input[(at + literal.Length)..];
        }
    }

    private static void Set<TTarget>(int output, ReadOnlySpan<byte> value, ref TTarget target)
        where TTarget : struct, IExtractionTarget
    {
        if (output >= 0)
        {
            target.Set(output, value);
        }
    }

    private static bool IsCaptureName(ReadOnlySpan<char> name) => name is "_" || Label.IsValidName(name);

    private readonly record struct Part(int Output, byte[] Literal);
}
