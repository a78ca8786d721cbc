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

        if (names.Count == 0)
        {
            throw new FormatException("at least one named capture such as <name> is required (<_> only skips)");
        }

        _parts = [.. parts];
        Names = names;
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
