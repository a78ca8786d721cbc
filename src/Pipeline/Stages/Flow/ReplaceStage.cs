using System.Text;
using System.Text.RegularExpressions;
using Pipeline.LogQL.Re2;
using Pipeline.LogQL.Templates;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Flow;

/// <summary>
/// Promtail's <c>replace</c> stage: for every match of <c>expression</c> in the line (or in <c>source</c>), each
/// capture group's text is replaced by the <c>replace</c> template run with <c>.Value</c> set to the captured text
/// (and the extracted values as fields); text outside the groups stays. Named groups are extracted with their
/// replaced value. Without a match nothing changes.
/// </summary>
public sealed class ReplaceStage : ILogStage
{
    private readonly Regex _regex;
    private readonly GoTemplate _template;
    private readonly string? _source;
    private readonly string?[] _groupNames;
    private readonly StringBuilder _result = new();
    private readonly StringBuilder _piece = new();
    private readonly EntryTemplateData _data = new(entryField: false);

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">The expression is missing or invalid, or the template does not parse.</exception>
    public ReplaceStage(ReplaceStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _regex = OptionRegex.Compile(options.Expression, "replace", "expression");
        OptionNames.OptionalSource(options.Source, "replace");
        try
        {
            _template = GoTemplate.Parse(options.Replace ?? string.Empty, TemplateFunctions.Promtail);
        }
        catch (FormatException ex)
        {
            throw new StageOptionsException("replace", "replace", options.Replace, ex.Message, ex);
        }

        _groupNames = Re2Regex.GroupNamesByNumber(_regex);
        _source = options.Source;
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public ReplaceStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        string input;
        if (_source is null)
        {
            input = entry.GetLineString();
        }
        else if (!entry.Extracted.TryGetString(_source, out input!))
        {
            return StageResult.Keep;
        }

        var match = _regex.Match(input);
        if (!match.Success)
        {
            return StageResult.Keep;
        }

        _result.Clear();
        var previousEnd = 0;
        var captured = new Dictionary<string, string>(StringComparer.Ordinal);
        var firstMatch = match;
        for (; match.Success; match = match.NextMatch())
        {
            for (var g = 1; g < match.Groups.Count; g++)
            {
                var group = match.Groups[g];
                if (!group.Success)
                {
                    continue;
                }

                if (group.Index < previousEnd)
                {
                    _data.Clear();
                    return StageResult.Keep; // overlapping groups: Promtail reports an error and changes nothing
                }

                _piece.Clear();
                _data.ResetWithValue(entry, group.Value);
                if (!_template.TryRender(_piece, _data, out _))
                {
                    _data.Clear();
                    return StageResult.Keep;
                }

                var replaced = _piece.ToString();
                _result.Append(input, previousEnd, group.Index - previousEnd).Append(replaced);
                previousEnd = group.Index + group.Length;
                captured.TryAdd(group.Value, replaced);
            }
        }

        _result.Append(input, previousEnd, input.Length - previousEnd);
        _data.Clear();
        var output = _result.ToString();
        if (_source is null)
        {
            entry.SetLine(output.AsSpan());
        }
        else
        {
            entry.Extracted.Set(_source, output.AsSpan());
        }

        for (var g = 1; g < _groupNames.Length && g < firstMatch.Groups.Count; g++)
        {
            if (_groupNames[g] is { } name && firstMatch.Groups[g].Success && captured.TryGetValue(firstMatch.Groups[g].Value, out var value))
            {
                entry.Extracted.Set(name, value.AsSpan());
            }
        }

        return StageResult.Keep;
    }
}
