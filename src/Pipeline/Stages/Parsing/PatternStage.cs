using Pipeline.LogQL.Extraction;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Parsing;

/// <summary>
/// Loki's <c>pattern</c> parser as a stage (the same matcher as LogQL's <c>| pattern</c>): <c>&lt;name&gt;</c> captures
/// text up to the literal that follows it, <c>&lt;_&gt;</c> skips it, everything else is a literal. A leading literal
/// must be at the start of the line; a capture with no literal after it takes the rest of the line; when a literal is
/// not found, the capture before it takes the rest and matching stops (so a partial match still extracts what it can).
/// </summary>
public sealed class PatternStage : ILogStage
{
    private readonly PatternExtractor _extractor;
    private readonly string[] _names;
    private readonly string? _source;

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">The pattern is missing or invalid (no named capture, two captures in a row, a duplicate name).</exception>
    public PatternStage(PatternStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.Pattern))
        {
            throw new StageOptionsException("pattern", "pattern", options.Pattern, "a pattern such as '<ip> - <_> \"<method> <path> <_>\"'");
        }

        try
        {
            _extractor = new PatternExtractor(options.Pattern);
        }
        catch (FormatException ex)
        {
            throw new StageOptionsException("pattern", "pattern", options.Pattern, ex.Message, ex);
        }

        if (options.Source is { Length: 0 })
        {
            throw new StageOptionsException("pattern", "source", string.Empty, "the name of an extracted value, or no source to match the line");
        }

        _names = [.. _extractor.Names];
        _source = options.Source;
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public PatternStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!StageInput.TryRead(entry, _source, out var input) || input.IsEmpty)
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

        var target = new ExtractedTarget(entry.Extracted, _names);
        _extractor.Extract(input, ref target);
        if (copy is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(copy);
        }

        return StageResult.Keep;
    }
}
