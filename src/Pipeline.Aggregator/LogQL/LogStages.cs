using System.Text;
using Pipeline.LogQL.Extraction;
using Pipeline.LogQL.Matching;
using Pipeline.LogQL.Syntax;
using Pipeline.LogQL.Templates;
using Pipeline.LogQL.Units;

namespace Pipeline.Aggregator.LogQL;

/// <summary>One step of a compiled log pipeline after the leading line filters.</summary>
internal abstract class LogStage
{
    public const string JsonParserError = "JSONParserErr";
    public const string LogfmtParserError = "LogfmtParserErr";
    public const string LabelFilterError = "LabelFilterErr";
    public const string TemplateFormatError = "TemplateFormatErr";
    public const string SampleExtractionError = "SampleExtractionErr";

    /// <summary>Processes the entry; <see langword="false"/> drops it.</summary>
    public abstract bool Process(LineState line, LabelsBuilder labels);

    public static LogStage Create(StageExpr expr) => expr switch
    {
        LineFilterExpr f => new LineFilterLogStage(new LineFilter(f)),
        JsonParserExpr j => new JsonParserStage(j.Parameters),
        LogfmtParserExpr l => new LogfmtParserStage(l.Strict, l.KeepEmpty, l.Parameters),
        RegexpParserExpr r => new RegexpParserStage(r.Pattern),
        PatternParserExpr p => new PatternParserStage(p.Pattern),
        UnpackParserExpr => new UnpackParserStage(),
        DecolorizeExpr => new DecolorizeLogStage(),
        LineFormatExpr l => new LineFormatStage(LineTemplates.Parse(l.Template)),
        LabelFormatExpr l => new LabelFormatStage(l.Items),
        DropLabelsExpr d => new DropKeepStage(d.Keep, d.Items),
        LabelFilterStageExpr f => new LabelFilterStage(f.Filter),
        _ => throw new NotSupportedException($"stage {expr} is not supported"),
    };
}

internal sealed class LineFilterLogStage(LineFilter filter) : LogStage
{
    public override bool Process(LineState line, LabelsBuilder labels) => filter.Matches(line.Bytes);
}

/// <summary><c>| json</c>: every key (nested objects flattened with <c>_</c>), or only the given paths (null or absent: empty).</summary>
internal sealed class JsonParserStage : LogStage
{
    private readonly JsonExtractor _extractor;
    private readonly string[]? _names;

    public JsonParserStage(IReadOnlyList<ExtractionParam> parameters)
    {
        if (parameters.Count == 0)
        {
            _extractor = JsonExtractor.ForAllKeys();
            return;
        }

        _extractor = JsonExtractor.ForPaths([.. parameters.Select(static p => p.Expression)], missingAsEmpty: true);
        _names = [.. parameters.Select(static p => p.Label)];
    }

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        if (labels.HasError)
        {
            return true;
        }

        var target = new LabelsTarget(labels, _names, firstWins: _names is null);
        if (!_extractor.Extract(line.Bytes, ref target, out var error))
        {
            labels.SetError(JsonParserError, error);
        }

        return true;
    }
}

/// <summary><c>| unpack</c>: a JSON object whose <c>_entry</c> becomes the line and whose other string keys become labels.</summary>
internal sealed class UnpackParserStage : LogStage
{
    private readonly UnpackExtractor _extractor = new();

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        if (labels.HasError)
        {
            return true;
        }

        var target = new LabelsTarget(labels, null, firstWins: false);
        if (!_extractor.Extract(line.Bytes, ref target, out var entry, out var hasEntry, out var error))
        {
            labels.SetError(JsonParserError, error);
        }
        else if (hasEntry)
        {
            line.SetBytes(entry);
        }

        return true;
    }
}

/// <summary><c>| logfmt</c> with Loki's <c>--strict</c> and <c>--keep-empty</c> flags: malformed pairs are skipped, or reported with --strict.</summary>
internal sealed class LogfmtParserStage(bool strict, bool keepEmpty, IReadOnlyList<ExtractionParam> parameters) : LogStage
{
    private readonly LogfmtExtractor _extractor = new(
        parameters.Count == 0 ? null : [.. parameters.Select(static p => p.Expression)],
        strict ? LogfmtErrors.Report : LogfmtErrors.Skip,
        keepEmpty);

    private readonly string[]? _names = parameters.Count == 0 ? null : [.. parameters.Select(static p => p.Label)];

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        if (labels.HasError)
        {
            return true;
        }

        var target = new LabelsTarget(labels, _names, firstWins: _names is null);
        if (!_extractor.Extract(line.Bytes, ref target, out var error))
        {
            labels.SetError(LogfmtParserError, error);
        }

        return true;
    }
}

/// <summary><c>| regexp "(?P&lt;name&gt;...)"</c>: named groups become labels.</summary>
internal sealed class RegexpParserStage : LogStage
{
    private readonly RegexpExtractor _extractor;
    private readonly string[] _names;

    public RegexpParserStage(string pattern)
    {
        _extractor = new RegexpExtractor(pattern, labelNames: true);
        _names = [.. _extractor.Names];
    }

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        var target = new LabelsTarget(labels, _names, firstWins: false);
        _extractor.Extract(line.Bytes, ref target);
        return true;
    }
}

/// <summary><c>| pattern "&lt;ip&gt; - &lt;_&gt; [&lt;ts&gt;] ..."</c>: literals anchor captures; <c>&lt;_&gt;</c> skips.</summary>
internal sealed class PatternParserStage : LogStage
{
    private readonly PatternExtractor _extractor;
    private readonly string[] _names;

    /// <exception cref="FormatException">The pattern is invalid.</exception>
    public PatternParserStage(string pattern)
    {
        _extractor = new PatternExtractor(pattern);
        _names = [.. _extractor.Names];
    }

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        var target = new LabelsTarget(labels, _names, firstWins: false);
        _extractor.Extract(line.Bytes, ref target);
        return true;
    }
}

/// <summary><c>| decolorize</c>: removes ANSI escape sequences from the line.</summary>
internal sealed class DecolorizeLogStage : LogStage
{
    public override bool Process(LineState line, LabelsBuilder labels)
    {
        line.Decolorize();
        return true;
    }
}

/// <summary><c>| line_format "..."</c>.</summary>
internal sealed class LineFormatStage(GoTemplate template) : LogStage
{
    private readonly LabelsTemplateData _data = new();
    private readonly StringBuilder _output = new();

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        _data.Reset(labels, line);
        _output.Clear();
        if (template.TryRender(_output, _data, out var error))
        {
            line.SetText(_output.ToString());
        }
        else
        {
            labels.SetError(TemplateFormatError, error);
        }

        return true;
    }
}

/// <summary><c>| label_format a=b, c="{{...}}"</c>: renames and templates, all rendered from the labels as they were before the stage.</summary>
internal sealed class LabelFormatStage : LogStage
{
    private readonly IReadOnlyList<LabelFormatItem> _items;
    private readonly GoTemplate?[] _templates;
    private readonly string?[] _values;
    private readonly LabelsTemplateData _data = new();
    private readonly StringBuilder _output = new();

    public LabelFormatStage(IReadOnlyList<LabelFormatItem> items)
    {
        _items = items;
        _templates = new GoTemplate?[items.Count];
        _values = new string?[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].IsTemplate)
            {
                _templates[i] = LineTemplates.Parse(items[i].Source);
            }
        }
    }

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        for (var i = 0; i < _items.Count; i++)
        {
            var template = _templates[i];
            if (template is null)
            {
                _values[i] = labels.Get(_items[i].Source);
                continue;
            }

            _data.Reset(labels, line);
            _output.Clear();
            if (template.TryRender(_output, _data, out var error))
            {
                _values[i] = _output.ToString();
            }
            else
            {
                labels.SetError(TemplateFormatError, error);
                _values[i] = null;
            }
        }

        for (var i = 0; i < _items.Count; i++)
        {
            if (_templates[i] is null)
            {
                if (_values[i] is null)
                {
                    continue;
                }

                labels.Delete(_items[i].Source);
            }

            labels.Set(_items[i].Target, _values[i]);
        }

        return true;
    }
}

/// <summary><c>| drop a, b="v"</c> and <c>| keep a, b</c>.</summary>
internal sealed class DropKeepStage(bool keep, IReadOnlyList<DropKeepItem> items) : LogStage
{
    private readonly List<string> _names = [];

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        if (!keep)
        {
            foreach (var item in items)
            {
                if (item.Matcher is null || (labels.Has(item.Name) && item.Matcher.Matches(labels.Get(item.Name))))
                {
                    labels.Delete(item.Name);
                }
            }

            return true;
        }

        labels.CollectNames(_names);
        foreach (var name in _names)
        {
            var kept = false;
            foreach (var item in items)
            {
                if (string.Equals(item.Name, name, StringComparison.Ordinal)
                    && (item.Matcher is null || item.Matcher.Matches(labels.Get(name))))
                {
                    kept = true;
                    break;
                }
            }

            if (!kept)
            {
                labels.Delete(name);
            }
        }

        return true;
    }
}

/// <summary>A label filter stage: string matchers, numeric/duration/bytes comparisons, and/or.</summary>
internal sealed class LabelFilterStage(LabelFilter filter) : LogStage
{
    public override bool Process(LineState line, LabelsBuilder labels) => Evaluate(filter, labels);

    public static bool Evaluate(LabelFilter filter, LabelsBuilder labels)
    {
        switch (filter)
        {
            case BinaryLabelFilter binary:
                {
                    var left = Evaluate(binary.Left, labels);
                    if (binary.And)
                    {
                        return left && Evaluate(binary.Right, labels);
                    }

                    return left || Evaluate(binary.Right, labels);
                }

            case StringLabelFilter s:
                return s.Matcher.Matches(labels.Get(s.Matcher.Name));
            case NumericLabelFilter n:
                {
                    var text = labels.Get(n.Name);
                    if (string.IsNullOrEmpty(text))
                    {
                        return false;
                    }

                    // A conversion failure keeps the line and marks it, like Loki's LabelFilterErr.
                    if (!TryConvert(text, n.Kind, out var value, out var error))
                    {
                        labels.SetError(LabelFilterError, error);
                        return true;
                    }

                    return n.Op switch
                    {
                        CompareOp.Equal => value == n.Value,
                        CompareOp.NotEqual => value != n.Value,
                        CompareOp.Greater => value > n.Value,
                        CompareOp.GreaterOrEqual => value >= n.Value,
                        CompareOp.Less => value < n.Value,
                        _ => value <= n.Value,
                    };
                }

            default:
                return true;
        }
    }

    public static bool TryConvert(string text, NumericKind kind, out double value, out string? error)
    {
        error = null;
        switch (kind)
        {
            case NumericKind.Duration:
                if (GoDuration.TryParse(text, out long ns))
                {
                    value = ns / (double)GoDuration.Second;
                    return true;
                }

                error = $"time: invalid duration \"{text}\"";
                value = 0;
                return false;
            case NumericKind.Bytes:
                if (ByteSize.TryParse(text, ByteUnits.Humanized, out value))
                {
                    return true;
                }

                error = $"strconv.ParseFloat: parsing \"{text}\": invalid syntax";
                return false;
            default:
                if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out value))
                {
                    return true;
                }

                error = $"strconv.ParseFloat: parsing \"{text}\": invalid syntax";
                return false;
        }
    }
}
