using Pipeline.LogQL.Extraction;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Parsing;

/// <summary>
/// Promtail's <c>regex</c> stage: matches the line (or the extracted value named by <c>source</c>) and extracts every
/// named group; a named group that did not take part in the match is extracted as an empty value, as Go does.
/// Patterns are RE2 and run on .NET's non-backtracking engine (the same extractor as LogQL's <c>| regexp</c>); a
/// construct RE2 does not have, such as a backreference or a lookahead, is a configuration error.
/// </summary>
public sealed class RegexStage : ILogStage
{
    private readonly RegexpExtractor _extractor;
    private readonly string[] _names;
    private readonly string? _source;

    // With a source (typically the filename, constant per stream), the same input gives the same groups: remember the
    // last input and its group values, and skip the regex (and its match allocation) while the input repeats.
    private byte[] _lastInput = [];
    private int _lastInputLength = -1;
    private byte[] _lastValues = [];
    private int[] _lastOffsets = [];
    private bool _lastMatched;

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">The expression is missing, invalid, or has no named group.</exception>
    public RegexStage(RegexStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Expression is null)
        {
            throw new StageOptionsException("regex", "expression", null, "a regular expression is required");
        }

        try
        {
            _extractor = new RegexpExtractor(options.Expression, labelNames: false);
        }
        catch (FormatException ex)
        {
            throw new StageOptionsException("regex", "expression", options.Expression, "an expression with at least one named group, such as (?P<level>\\w+)", ex);
        }
        catch (ArgumentException ex)
        {
            throw new StageOptionsException("regex", "expression", options.Expression, ex.Message, ex);
        }

        if (options.Source is { Length: 0 })
        {
            throw new StageOptionsException("regex", "source", string.Empty, "the name of an extracted value, or no source to match the line");
        }

        _names = [.. _extractor.Names];
        _source = options.Source;
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public RegexStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!StageInput.TryRead(entry, _source, out var input))
        {
            return StageResult.Keep;
        }

        if (_source is not null && input.Length == _lastInputLength && input.SequenceEqual(_lastInput.AsSpan(0, _lastInputLength)))
        {
            if (_lastMatched)
            {
                for (var i = 0; i < _names.Length; i++)
                {
                    entry.Extracted.Set(_names[i], _lastValues.AsSpan(_lastOffsets[i], _lastOffsets[i + 1] - _lastOffsets[i]));
                }
            }

            return StageResult.Keep;
        }

        if (_source is not null)
        {
            Remember(input);
        }

        var target = new ExtractedTarget(entry.Extracted, _names);
        if (_extractor.Extract(input, ref target) && _source is not null)
        {
            RememberGroups(entry.Extracted);
        }

        return StageResult.Keep;
    }

    private void Remember(ReadOnlySpan<byte> input)
    {
        if (_lastInput.Length < input.Length)
        {
            _lastInput = new byte[Math.Max(input.Length, 64)];
        }

        input.CopyTo(_lastInput);
        _lastInputLength = input.Length;
        _lastMatched = false;
    }

    /// <summary>Keeps the values just extracted, to set them again while the input repeats.</summary>
    private void RememberGroups(LogFields extracted)
    {
        if (_lastOffsets.Length != _names.Length + 1)
        {
            _lastOffsets = new int[_names.Length + 1];
        }

        var total = 0;
        for (var i = 0; i < _names.Length; i++)
        {
            extracted.TryGetValue(_names[i], out var value);
            total += value.Length;
        }

        if (_lastValues.Length < total)
        {
            _lastValues = new byte[Math.Max(total, 64)];
        }

        var offset = 0;
        for (var i = 0; i < _names.Length; i++)
        {
            _lastOffsets[i] = offset;
            extracted.TryGetValue(_names[i], out var value);
            value.CopyTo(_lastValues.AsSpan(offset));
            offset += value.Length;
        }

        _lastOffsets[_names.Length] = offset;
        _lastMatched = true;
    }
}
