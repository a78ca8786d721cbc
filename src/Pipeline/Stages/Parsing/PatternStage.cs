using System.Text;
using Pipeline.Model;
using Pipeline.Runtime;

using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Parsing;

/// <summary>
/// Loki's <c>pattern</c> parser as a stage: <c>&lt;name&gt;</c> captures text up to the literal that follows it,
/// <c>&lt;_&gt;</c> skips it, everything else is a literal. It behaves like Loki's matcher: a leading literal must be
/// at the start of the line; a capture with no literal after it takes the rest of the line; when a literal is not
/// found, the capture before it takes the rest and matching stops (so a partial match still extracts what it can).
/// </summary>
public sealed class PatternStage : ILogStage
{
    private readonly Part[] _parts;
    private readonly string? _source;

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">The pattern is missing or invalid (no named capture, two captures in a row, a duplicate name).</exception>
    public PatternStage(PatternStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _parts = Parse(options.Pattern);
        if (options.Source is { Length: 0 })
        {
            throw new StageOptionsException("pattern", "source", string.Empty, "the name of an extracted value, or no source to match the line");
        }

        _source = options.Source;
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public PatternStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!StageInput.TryRead(entry, _source, out var input))
        {
            return StageResult.Keep;
        }

        if (input.IsEmpty)
        {
            return StageResult.Keep;
        }

        byte[]? copy = null;
        if (_source is not null)
        {
            copy = System.Buffers.ArrayPool<byte>.Shared.Rent(input.Length);
            input.CopyTo(copy);
            input = copy.AsSpan(0, input.Length);
        }

        Match(input, entry.Extracted);
        if (copy is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(copy);
        }

        return StageResult.Keep;
    }

    private void Match(ReadOnlySpan<byte> input, LogFields extracted)
    {
        var parts = _parts.AsSpan();
        if (parts[0].Name is null)
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
            var capture = parts[0];
            if (parts.Length == 1)
            {
                Set(capture, input, extracted);
                return;
            }

            var literal = parts[1].Literal;
            parts = parts[2..];
            var at = input.IndexOf(literal);
            if (at < 0)
            {
                Set(capture, input, extracted);
                return;
            }

            Set(capture, input[..at], extracted);
            input = input[(at + literal.Length)..];
        }
    }

    private static void Set(Part capture, ReadOnlySpan<byte> value, LogFields extracted)
    {
        if (capture.Name is not "_")
        {
            extracted.Set(capture.Name!, value);
        }
    }

    private static Part[] Parse(string? pattern)
    {
        if (string.IsNullOrEmpty(pattern))
        {
            throw new StageOptionsException("pattern", "pattern", pattern, "a pattern such as '<ip> - <_> \"<method> <path> <_>\"'");
        }

        var parts = new List<Part>();
        var names = new HashSet<string>(StringComparer.Ordinal);
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
                        parts.Add(new Part(null, Encoding.UTF8.GetBytes(literal.ToString())));
                        literal.Clear();
                    }

                    var name = pattern[(i + 1)..end];
                    if (parts.Count > 0 && parts[^1].Name is not null)
                    {
                        throw new StageOptionsException("pattern", "pattern", pattern, $"a literal between two captures (found <{parts[^1].Name}><{name}> at position {i})");
                    }

                    if (name != "_" && !names.Add(name))
                    {
                        throw new StageOptionsException("pattern", "pattern", pattern, $"unique capture names (<{name}> appears twice)");
                    }

                    parts.Add(new Part(name, []));
                    i = end + 1;
                    continue;
                }
            }

            literal.Append(pattern[i]);
            i++;
        }

        if (literal.Length > 0)
        {
            parts.Add(new Part(null, Encoding.UTF8.GetBytes(literal.ToString())));
        }

        if (names.Count == 0)
        {
            throw new StageOptionsException("pattern", "pattern", pattern, "at least one named capture such as <name> (<_> only skips)");
        }

        return [.. parts];
    }

    private static bool IsCaptureName(ReadOnlySpan<char> name)
    {
        if (name is "_")
        {
            return true;
        }

        return Label.IsValidName(name);
    }

    private readonly record struct Part(string? Name, byte[] Literal);
}
