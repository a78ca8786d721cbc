using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pipeline.LogQL.Re2;
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
        LineFilterExpr f => new LineFilterLogStage(new LineFilterStage(f)),
        JsonParserExpr j => new JsonStage(j.Parameters),
        LogfmtParserExpr l => new LogfmtStage(l.Strict, l.KeepEmpty, l.Parameters),
        RegexpParserExpr r => new RegexpStage(r.Pattern),
        PatternParserExpr p => new PatternStage(p.Pattern),
        UnpackParserExpr => new UnpackStage(),
        DecolorizeExpr => new DecolorizeStage(),
        LineFormatExpr l => new LineFormatStage(LineTemplates.Parse(l.Template)),
        LabelFormatExpr l => new LabelFormatStage(l.Items),
        DropLabelsExpr d => new DropKeepStage(d.Keep, d.Items),
        LabelFilterStageExpr f => new LabelFilterStage(f.Filter),
        _ => throw new NotSupportedException($"stage {expr} is not supported"),
    };
}

internal sealed class LineFilterLogStage(LineFilterStage filter) : LogStage
{
    public override bool Process(LineState line, LabelsBuilder labels) =>
        line.Rewritten ? filter.Matches(line.Text) : filter.Matches(line.Bytes);
}

/// <summary><c>| json</c>: every key (nested objects flattened with <c>_</c>), or only the given paths.</summary>
internal sealed class JsonStage : LogStage
{
    private readonly IReadOnlyList<ExtractionParam> _parameters;
    private readonly List<string[]> _paths = [];
    private readonly StringBuilder _prefix = new();

    public JsonStage(IReadOnlyList<ExtractionParam> parameters)
    {
        _parameters = parameters;
        foreach (var parameter in parameters)
        {
            _paths.Add(ParsePath(parameter.Expression));
        }
    }

    /// <summary>Splits <c>a.b[0]["c d"]</c> into its keys; array indexes stay as digits.</summary>
    internal static string[] ParsePath(string expression)
    {
        List<string> keys = [];
        var i = 0;
        var current = new StringBuilder();
        while (i < expression.Length)
        {
            var c = expression[i];
            if (c == '.')
            {
                if (current.Length > 0)
                {
                    keys.Add(current.ToString());
                    current.Clear();
                }

                i++;
            }
            else if (c == '[')
            {
                if (current.Length > 0)
                {
                    keys.Add(current.ToString());
                    current.Clear();
                }

                var close = expression.IndexOf(']', i);
                if (close < 0)
                {
                    throw new ArgumentException($"invalid JSON path '{expression}'");
                }

                var inner = expression[(i + 1)..close].Trim();
                if (inner.Length >= 2 && inner[0] is '"' or '\'' && inner[^1] == inner[0])
                {
                    inner = inner[1..^1];
                }

                keys.Add(inner);
                i = close + 1;
            }
            else
            {
                current.Append(c);
                i++;
            }
        }

        if (current.Length > 0)
        {
            keys.Add(current.ToString());
        }

        return [.. keys];
    }

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        if (labels.HasError)
        {
            return true;
        }

        try
        {
            if (_parameters.Count == 0)
            {
                ExtractAll(line.Bytes, labels);
            }
            else
            {
                ExtractPaths(line.Bytes, labels);
            }
        }
        catch (JsonException ex)
        {
            labels.SetError(JsonParserError, ex.Message);
        }

        return true;
    }

    private void ExtractAll(ReadOnlySpan<byte> json, LabelsBuilder labels)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("Value looks like object, but can't find closing '}' symbol");
        }

        _prefix.Clear();
        var prefixLengths = new Stack<int>();
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.EndObject:
                    if (prefixLengths.Count > 0)
                    {
                        _prefix.Length = prefixLengths.Pop();
                    }

                    break;
                case JsonTokenType.PropertyName:
                    {
                        var key = reader.GetString()!;
                        reader.Read();
                        switch (reader.TokenType)
                        {
                            case JsonTokenType.StartObject:
                                prefixLengths.Push(_prefix.Length);
                                _prefix.Append(LabelsBuilder.Sanitize(key)).Append('_');
                                break;
                            case JsonTokenType.StartArray:
                                reader.Skip();
                                break;
                            case JsonTokenType.String:
                                Set(labels, key, reader.GetString()!);
                                break;
                            case JsonTokenType.Number:
                                Set(labels, key, Encoding.UTF8.GetString(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan));
                                break;
                            case JsonTokenType.True:
                                Set(labels, key, "true");
                                break;
                            case JsonTokenType.False:
                                Set(labels, key, "false");
                                break;
                        }

                        break;
                    }
            }
        }
    }

    private void Set(LabelsBuilder labels, string key, string value)
    {
        var name = _prefix.Length == 0 ? labels.ParsedName(key) : labels.ParsedName(_prefix + LabelsBuilder.Sanitize(key));
        labels.Set(name, value);
    }

    private void ExtractPaths(ReadOnlySpan<byte> json, LabelsBuilder labels)
    {
        var reader = new Utf8JsonReader(json);
        using var document = JsonDocument.ParseValue(ref reader);
        for (var p = 0; p < _paths.Count; p++)
        {
            var element = document.RootElement;
            var found = true;
            foreach (var key in _paths[p])
            {
                if (element.ValueKind == JsonValueKind.Object && element.TryGetProperty(key, out var child))
                {
                    element = child;
                }
                else if (element.ValueKind == JsonValueKind.Array && int.TryParse(key, out var index) && index >= 0 && index < element.GetArrayLength())
                {
                    element = element[index];
                }
                else
                {
                    found = false;
                    break;
                }
            }

            if (!found)
            {
                continue;
            }

            var value = element.ValueKind switch
            {
                JsonValueKind.String => element.GetString(),
                JsonValueKind.Null or JsonValueKind.Undefined => null,
                _ => element.GetRawText(),
            };
            labels.Set(labels.ParsedName(_parameters[p].Label), value);
        }
    }
}

/// <summary><c>| unpack</c>: a JSON object whose <c>_entry</c> becomes the line and whose other string keys become labels.</summary>
internal sealed class UnpackStage : LogStage
{
    public override bool Process(LineState line, LabelsBuilder labels)
    {
        if (labels.HasError)
        {
            return true;
        }

        try
        {
            var reader = new Utf8JsonReader(line.Bytes);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException("expecting a JSON object");
            }

            string? entry = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = reader.GetString()!;
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    if (key == "_entry")
                    {
                        entry = reader.GetString();
                    }
                    else
                    {
                        labels.Set(labels.ParsedName(key), reader.GetString());
                    }
                }
                else
                {
                    reader.Skip();
                }
            }

            if (entry is not null)
            {
                line.SetText(entry);
            }
        }
        catch (JsonException ex)
        {
            labels.SetError(JsonParserError, ex.Message);
        }

        return true;
    }
}

/// <summary><c>| logfmt</c> with Loki's <c>--strict</c> and <c>--keep-empty</c> flags.</summary>
internal sealed class LogfmtStage(bool strict, bool keepEmpty, IReadOnlyList<ExtractionParam> parameters) : LogStage
{
    private readonly StringBuilder _value = new();

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        if (labels.HasError)
        {
            return true;
        }

        var text = line.Text;
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && text[i] <= ' ')
            {
                i++;
            }

            if (i >= text.Length)
            {
                break;
            }

            var keyStart = i;
            while (i < text.Length && text[i] > ' ' && text[i] != '=' && text[i] != '"')
            {
                i++;
            }

            var key = text[keyStart..i];
            if (key.Length == 0)
            {
                if (strict)
                {
                    labels.SetError(LogfmtParserError, $"logfmt syntax error at pos {i + 1} : unexpected '{text[i]}'");
                    return true;
                }

                // Skip the malformed token.
                while (i < text.Length && text[i] > ' ')
                {
                    i++;
                }

                continue;
            }

            string value;
            if (i < text.Length && text[i] == '=')
            {
                i++;
                _value.Clear();
                if (i < text.Length && text[i] == '"')
                {
                    i++;
                    var closed = false;
                    while (i < text.Length)
                    {
                        var c = text[i++];
                        if (c == '"')
                        {
                            closed = true;
                            break;
                        }

                        if (c == '\\' && i < text.Length)
                        {
                            var e = text[i++];
                            _value.Append(e switch { 'n' => '\n', 't' => '\t', 'r' => '\r', _ => e });
                            continue;
                        }

                        _value.Append(c);
                    }

                    if (!closed)
                    {
                        if (strict)
                        {
                            labels.SetError(LogfmtParserError, $"logfmt syntax error at pos {i + 1} : unterminated quoted value");
                            return true;
                        }

                        break;
                    }
                }
                else
                {
                    var valueStart = i;
                    while (i < text.Length && text[i] > ' ')
                    {
                        i++;
                    }

                    _value.Append(text, valueStart, i - valueStart);
                }

                value = _value.ToString();
            }
            else
            {
                value = string.Empty;
            }

            if (value.Length == 0 && !keepEmpty)
            {
                continue;
            }

            if (parameters.Count == 0)
            {
                var name = labels.ParsedName(key);
                if (!labels.Has(name) || labels.Base.Contains(name))
                {
                    labels.Set(name, value);
                }
            }
            else
            {
                foreach (var parameter in parameters)
                {
                    if (string.Equals(parameter.Expression, key, StringComparison.Ordinal))
                    {
                        labels.Set(labels.ParsedName(parameter.Label), value);
                    }
                }
            }
        }

        return true;
    }
}

/// <summary><c>| regexp "(?P&lt;name&gt;...)"</c>: named groups become labels.</summary>
internal sealed class RegexpStage : LogStage
{
    private readonly Regex _regex;
    private readonly string[] _names;

    public RegexpStage(string pattern)
    {
        _regex = Validate(pattern);
        _names = [.. _regex.GetGroupNames().Where(static n => !int.TryParse(n, out _))];
    }

    /// <exception cref="ArgumentException">Invalid pattern or no named group.</exception>
    public static Regex Validate(string pattern)
    {
        var regex = Re2Regex.Compile(pattern);
        foreach (var name in regex.GetGroupNames())
        {
            if (!int.TryParse(name, out _))
            {
                if (!Pipeline.Model.Label.IsValidName(name))
                {
                    throw new ArgumentException($"invalid extracted label name '{name}'");
                }

                return regex;
            }
        }

        throw new ArgumentException("at least one named capture must be supplied");
    }

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        var match = _regex.Match(line.Text);
        if (!match.Success)
        {
            return true;
        }

        foreach (var name in _names)
        {
            var group = match.Groups[name];
            if (group.Success)
            {
                labels.Set(labels.ParsedName(name), group.Value);
            }
        }

        return true;
    }
}

/// <summary><c>| pattern "&lt;ip&gt; - &lt;_&gt; [&lt;ts&gt;] ..."</c>: literals anchor captures; <c>&lt;_&gt;</c> skips.</summary>
internal sealed class PatternStage : LogStage
{
    private readonly List<(string? Capture, string Literal)> _parts = [];
    private readonly string _leading;

    public PatternStage(string pattern)
    {
        var captures = 0;
        var pos = 0;
        var leading = new StringBuilder();
        string? pendingCapture = null;
        var literal = new StringBuilder();
        var first = true;
        while (pos < pattern.Length)
        {
            var c = pattern[pos];
            if (c == '<')
            {
                var close = pattern.IndexOf('>', pos);
                var name = close > pos ? pattern[(pos + 1)..close] : string.Empty;
                if (close > pos && (name == "_" || Pipeline.Model.Label.IsValidName(name)))
                {
                    if (first)
                    {
                        leading.Append(literal);
                        first = false;
                    }
                    else
                    {
                        if (literal.Length == 0)
                        {
                            throw new ArgumentException("invalid pattern: consecutive captures are not allowed");
                        }

                        _parts.Add((pendingCapture, literal.ToString()));
                    }

                    literal.Clear();
                    pendingCapture = name;
                    if (name != "_")
                    {
                        captures++;
                    }

                    pos = close + 1;
                    continue;
                }
            }

            literal.Append(c);
            pos++;
        }

        if (first)
        {
            throw new ArgumentException("invalid pattern: at least one capture is required");
        }

        _parts.Add((pendingCapture, literal.ToString()));
        _leading = leading.ToString();
        if (captures == 0)
        {
            throw new ArgumentException("invalid pattern: at least one named capture is required");
        }
    }

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        var text = line.Text.AsSpan();
        if (!text.StartsWith(_leading, StringComparison.Ordinal))
        {
            return true;
        }

        var pos = _leading.Length;
        for (var i = 0; i < _parts.Count; i++)
        {
            var (capture, literal) = _parts[i];
            int end;
            if (literal.Length == 0)
            {
                end = text.Length;
            }
            else
            {
                var at = text[pos..].IndexOf(literal, StringComparison.Ordinal);
                if (at < 0)
                {
                    return true;
                }

                end = pos + at;
            }

            if (capture is not null && capture != "_")
            {
                labels.Set(labels.ParsedName(capture), text[pos..end].ToString());
            }

            pos = end + literal.Length;
        }

        return true;
    }
}

/// <summary><c>| decolorize</c>: removes ANSI color escapes from the line.</summary>
internal sealed class DecolorizeStage : LogStage
{
    private static readonly Regex s_ansi = new(@"\x1b\[[0-9;]*[a-zA-Z]", RegexOptions.Compiled | RegexOptions.CultureInvariant);

    public override bool Process(LineState line, LabelsBuilder labels)
    {
        if (line.Bytes.IndexOf((byte)0x1b) >= 0)
        {
            line.SetText(s_ansi.Replace(line.Text, string.Empty));
        }

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
