using System.Globalization;
using System.Text;
using System.Text.Json;
using Pipeline.Aggregator.LogQL;
using Pipeline.LogQL.Extraction;
using Pipeline.LogQL.Units;
using Pipeline.Model;

namespace Pipeline.Aggregator.Http;

/// <summary>A field found by <c>detected_fields</c>: its parsers (none for structured metadata), type, values and JSON path.</summary>
internal sealed class DetectedField
{
    public List<string> Parsers { get; } = [];

    public string Type { get; set; } = "string";

    public HashSet<string> Values { get; } = new(StringComparer.Ordinal);

    /// <summary>The keys of the JSON path the field was flattened from (<c>user_id</c>: <c>["user", "id"]</c>), when parsed from JSON.</summary>
    public IReadOnlyList<string>? JsonPath { get; set; }
}

/// <summary>
/// Loki's <c>detected_fields</c> over a log query's result (its query frontend's <c>parseDetectedFields</c>): each entry's
/// structured metadata fields (no parser), the labels the query's own parsers produced, and what parsing the line as JSON
/// (nested objects flattened with <c>_</c>, their path kept) or else as logfmt finds. A field's type is the type of its
/// value in the last entry that has it (<c>int</c>, <c>float</c>, <c>boolean</c>, <c>duration</c>, <c>bytes</c>,
/// <c>string</c>); its cardinality is its number of distinct values. At most <c>limit</c> fields are kept.
/// </summary>
internal sealed class DetectedFields(int limit)
{
    private static readonly string[] s_errorLabels = [LabelsBuilder.ErrorLabel, LabelsBuilder.ErrorDetailsLabel, "__preserve_error__"];

    private readonly LogfmtExtractor _logfmt = new(keys: null, LogfmtErrors.Skip, keepEmpty: false);
    private readonly List<(string Key, string Value)> _pairs = [];

    public SortedDictionary<string, DetectedField> Fields { get; } = new(StringComparer.Ordinal);

    /// <summary>Adds one result entry (its final labels split as categorized labels are).</summary>
    public void Add(ResultEntry entry, CategorizedLabels.Categories labels)
    {
        foreach (var label in labels.Metadata)
        {
            if (Field(label.Name, parser: null) is { } field)
            {
                Insert(field, label.Value);
            }
        }

        var parser = Parse(entry.Line, labels.Stream);
        foreach (var label in labels.Parsed)
        {
            if (!IsError(label.Name) && Field(label.Name, parser) is { } field)
            {
                Insert(field, label.Value);
            }
        }

        foreach (var (key, value, path) in _parsed)
        {
            if (!IsError(key) && Field(key, parser) is { } field)
            {
                if (path is not null)
                {
                    field.JsonPath = path;
                }

                Insert(field, value);
            }
        }
    }

    /// <summary>The distinct values of one field in the entries (Loki's <c>detected_field/{name}/values</c>), at most <c>limit</c>.</summary>
    public static List<string> ValuesOf(string name, int limit, IEnumerable<(ResultEntry Entry, CategorizedLabels.Categories Labels)> entries)
    {
        var collector = new DetectedFields(int.MaxValue);
        var values = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (entry, labels) in entries)
        {
            if (seen.Count >= limit)
            {
                break;
            }

            foreach (var label in labels.Metadata)
            {
                if (label.Name == name && seen.Add(label.Value))
                {
                    values.Add(label.Value);
                }
            }

            collector.Parse(entry.Line, labels.Stream);
            foreach (var label in labels.Parsed)
            {
                if (label.Name == name && seen.Add(label.Value))
                {
                    values.Add(label.Value);
                }
            }

            foreach (var (key, value, _) in collector._parsed)
            {
                if (key == name && seen.Add(value))
                {
                    values.Add(value);
                }
            }
        }

        return values;
    }

    /// <summary>Loki's <c>determineType</c>: the first of int, float, boolean, duration, bytes the value parses as, else string.</summary>
    internal static string TypeOf(string value)
    {
        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
        {
            return "int";
        }

        if (double.TryParse(value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent, CultureInfo.InvariantCulture, out _))
        {
            return "float";
        }

        // Go's strconv.ParseBool (1 and 0 are ints already).
        if (value is "t" or "T" or "TRUE" or "true" or "True" or "f" or "F" or "FALSE" or "false" or "False")
        {
            return "boolean";
        }

        if (GoDuration.TryParse(value, out long _))
        {
            return "duration";
        }

        return ByteSize.TryParse(value, ByteUnits.Humanized, out double _) ? "bytes" : "string";
    }

    private readonly List<(string Key, string Value, string[]? Path)> _parsed = [];

    private static bool IsError(string name) => Array.IndexOf(s_errorLabels, name) >= 0;

    private static void Insert(DetectedField field, string value)
    {
        field.Type = TypeOf(value);
        field.Values.Add(value);
    }

    private DetectedField? Field(string name, string? parser)
    {
        if (!Fields.TryGetValue(name, out var field))
        {
            if (Fields.Count >= limit)
            {
                return null;
            }

            field = new DetectedField();
            Fields[name] = field;
        }

        if (parser is not null && !field.Parsers.Contains(parser))
        {
            field.Parsers.Add(parser);
        }

        return field;
    }

    /// <summary>Parses the line as JSON, else as logfmt, into <see cref="_parsed"/>; returns the parser that read it, if any.</summary>
    private string? Parse(string line, LabelSet stream)
    {
        _parsed.Clear();
        if (TryJson(line, stream))
        {
            return "json";
        }

        _parsed.Clear();
        _pairs.Clear();
        var target = new PairTarget(_pairs);
        _logfmt.Extract(Encoding.UTF8.GetBytes(line), ref target, out _);
        foreach (var (key, value) in _pairs)
        {
            _parsed.Add((Name(LabelNames.Sanitize(key), stream), value, null));
        }

        return "logfmt";
    }

    private bool TryJson(string line, LabelSet stream)
    {
        var trimmed = line.AsSpan().Trim();
        if (trimmed.Length == 0 || trimmed[0] != '{')
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            Walk(document.RootElement, string.Empty, [], stream);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>LogQL's <c>| json</c> without parameters: strings, numbers and booleans; nested objects flattened with <c>_</c>; arrays and nulls skipped.</summary>
    private void Walk(JsonElement element, string prefix, List<string> path, LabelSet stream)
    {
        foreach (var property in element.EnumerateObject())
        {
            var name = prefix + LabelNames.Sanitize(property.Name);
            path.Add(property.Name);
            switch (property.Value.ValueKind)
            {
                case JsonValueKind.Object:
                    Walk(property.Value, name + "_", path, stream);
                    break;
                case JsonValueKind.String:
                    _parsed.Add((Name(name, stream), property.Value.GetString() ?? string.Empty, [.. path]));
                    break;
                case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                    _parsed.Add((Name(name, stream), property.Value.GetRawText(), [.. path]));
                    break;
            }

            path.RemoveAt(path.Count - 1);
        }
    }

    /// <summary>A parsed key that is a stream label's name gets <c>_extracted</c>, as LogQL's parsers do.</summary>
    private static string Name(string key, LabelSet stream) => stream.Contains(key) ? key + "_extracted" : key;

    private readonly struct PairTarget(List<(string Key, string Value)> pairs) : IExtractionTarget
    {
        public void SetKey(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) => pairs.Add((Encoding.UTF8.GetString(key), Encoding.UTF8.GetString(value)));

        public void Set(int output, ReadOnlySpan<byte> value)
        {
        }

        public void Set(int output, ReadOnlySpan<char> value)
        {
        }
    }
}
