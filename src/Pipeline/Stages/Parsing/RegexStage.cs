using System.Text.RegularExpressions;
using Pipeline.LogQL.Re2;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Parsing;

/// <summary>
/// Promtail's <c>regex</c> stage: matches the line (or the extracted value named by <c>source</c>) and extracts every
/// named group; a named group that did not take part in the match is extracted as an empty value, as Go does.
/// Patterns are RE2 and run on .NET's non-backtracking engine (see <see cref="Pipeline.LogQL.Re2.Re2Regex"/>); a
/// construct RE2 does not have, such as a backreference or a lookahead, is a configuration error.
/// </summary>
public sealed class RegexStage : ILogStage
{
    private readonly Regex _regex;
    private readonly (int Number, string Name)[] _groups;
    private readonly string? _source;
    private readonly Utf16Scratch _scratch = new();

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
        _regex = OptionRegex.Compile(options.Expression, "regex", "expression");
        var names = Re2Regex.GroupNamesByNumber(_regex);
        var groups = new List<(int, string)>();
        for (var n = 0; n < names.Length; n++)
        {
            if (names[n] is { } name)
            {
                groups.Add((n, name));
            }
        }

        if (groups.Count == 0)
        {
            throw new StageOptionsException("regex", "expression", options.Expression, "an expression with at least one named group, such as (?P<level>\\w+)");
        }

        if (options.Source is { Length: 0 })
        {
            throw new StageOptionsException("regex", "source", string.Empty, "the name of an extracted value, or no source to match the line");
        }

        _groups = [.. groups];
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
                for (var i = 0; i < _groups.Length; i++)
                {
                    entry.Extracted.Set(_groups[i].Name, _lastValues.AsSpan(_lastOffsets[i], _lastOffsets[i + 1] - _lastOffsets[i]));
                }
            }

            return StageResult.Keep;
        }

        _scratch.Load(input);
        if (_source is not null)
        {
            Remember(input);
        }

        var match = _regex.Match(_scratch.Buffer, 0, _scratch.Length);
        if (!match.Success)
        {
            return StageResult.Keep;
        }

        var extracted = entry.Extracted;
        foreach (var (number, name) in _groups)
        {
            var group = match.Groups[number];
            extracted.Set(name, group.Success ? group.ValueSpan : []);
        }

        if (_source is not null)
        {
            RememberGroups(match);
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

    private void RememberGroups(System.Text.RegularExpressions.Match match)
    {
        if (_lastOffsets.Length != _groups.Length + 1)
        {
            _lastOffsets = new int[_groups.Length + 1];
        }

        var total = 0;
        for (var i = 0; i < _groups.Length; i++)
        {
            var group = match.Groups[_groups[i].Number];
            total += group.Success ? System.Text.Encoding.UTF8.GetByteCount(group.ValueSpan) : 0;
        }

        if (_lastValues.Length < total)
        {
            _lastValues = new byte[Math.Max(total, 64)];
        }

        var offset = 0;
        for (var i = 0; i < _groups.Length; i++)
        {
            _lastOffsets[i] = offset;
            var group = match.Groups[_groups[i].Number];
            if (group.Success)
            {
                offset += System.Text.Encoding.UTF8.GetBytes(group.ValueSpan, _lastValues.AsSpan(offset));
            }
        }

        _lastOffsets[_groups.Length] = offset;
        _lastMatched = true;
    }
}
