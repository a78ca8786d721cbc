using System.Globalization;
using System.Text.Json;
using Pipeline.LogQL.Units;

namespace Pipeline.Aggregator.Http;

/// <summary>A field found in log lines by <c>detected_fields</c>.</summary>
internal sealed class DetectedField(string parser)
{
    public string Parser { get; } = parser;

    public string Type { get; set; } = string.Empty;

    public HashSet<string> Values { get; } = new(StringComparer.Ordinal);
}

/// <summary>Finds the fields of JSON or logfmt lines and guesses their types, as Loki's <c>detected_fields</c> does.</summary>
internal static class DetectedFields
{
    public static void Collect(string line, SortedDictionary<string, DetectedField> fields)
    {
        var trimmed = line.AsSpan().TrimStart();
        if (trimmed.Length > 0 && trimmed[0] == '{' && TryCollectJson(line, fields))
        {
            return;
        }

        CollectLogfmt(line, fields);
    }

    private static bool TryCollectJson(string line, SortedDictionary<string, DetectedField> fields)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                var value = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() ?? string.Empty : property.Value.GetRawText();
                Add(fields, property.Name, value, "json");
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static void CollectLogfmt(string line, SortedDictionary<string, DetectedField> fields)
    {
        var i = 0;
        while (i < line.Length)
        {
            while (i < line.Length && line[i] == ' ')
            {
                i++;
            }

            var keyStart = i;
            while (i < line.Length && line[i] != '=' && line[i] != ' ')
            {
                i++;
            }

            if (i >= line.Length || line[i] != '=' || i == keyStart)
            {
                while (i < line.Length && line[i] != ' ')
                {
                    i++;
                }

                continue;
            }

            var key = line[keyStart..i];
            i++;
            string value;
            if (i < line.Length && line[i] == '"')
            {
                var close = line.IndexOf('"', i + 1);
                close = close < 0 ? line.Length : close;
                value = line[(i + 1)..close];
                i = Math.Min(line.Length, close + 1);
            }
            else
            {
                var valueStart = i;
                while (i < line.Length && line[i] != ' ')
                {
                    i++;
                }

                value = line[valueStart..i];
            }

            Add(fields, key, value, "logfmt");
        }
    }

    private static void Add(SortedDictionary<string, DetectedField> fields, string name, string value, string parser)
    {
        if (!fields.TryGetValue(name, out var field))
        {
            field = new DetectedField(parser);
            fields[name] = field;
        }

        field.Values.Add(value);
        var type = TypeOf(value);
        field.Type = field.Type.Length == 0 || field.Type == type ? type
            : (field.Type, type) is ("int", "float") or ("float", "int") ? "float" : "string";
    }

    private static string TypeOf(string value)
    {
        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
        {
            return "int";
        }

        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
        {
            return "float";
        }

        if (bool.TryParse(value, out _))
        {
            return "boolean";
        }

        if (GoDuration.TryParse(value, out long _))
        {
            return "duration";
        }

        return ByteSize.TryParse(value, ByteUnits.Humanized, out double _) ? "bytes" : "string";
    }
}
