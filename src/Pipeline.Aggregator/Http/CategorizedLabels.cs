using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Pipeline.Aggregator.LogQL;
using Pipeline.Model;

namespace Pipeline.Aggregator.Http;

/// <summary>
/// Loki's categorized labels (<c>X-Loki-Response-Encoding-Flags: categorize-labels</c>, which Grafana's Loki data source
/// sends with every query): a log result's streams carry only stream labels, and each value is a 3-tuple
/// <c>[ts, line, {"structuredMetadata": {...}, "parsed": {...}}]</c> (empty groups left out), so a client can tell a
/// stream label from a metadata field or a parsed label ("filter for value" then writes the right kind of filter). The
/// response's <c>data</c> says <c>"encodingFlags": ["categorize-labels"]</c>. Other clients get the plain shape.
/// </summary>
internal static class CategorizedLabels
{
    /// <summary>The request header (Loki's <c>httpreq.LokiEncodingFlagsHeader</c>).</summary>
    public const string Header = "X-Loki-Response-Encoding-Flags";

    /// <summary>The flag (Loki's <c>httpreq.FlagCategorizeLabels</c>).</summary>
    public const string Flag = "categorize-labels";

    /// <summary>Whether the request asks for categorized labels (the header holds comma-separated flags).</summary>
    public static bool Requested(HttpContext context)
    {
        foreach (var value in context.Request.Headers[Header])
        {
            foreach (var flag in (value ?? string.Empty).Split(','))
            {
                if (flag.Trim().Equals(Flag, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>The request's answer shape: categorized or not, and the log direction (to order streams merged by categorizing).</summary>
    public static async Task<Shape> ShapeAsync(HttpContext context)
    {
        if (!Requested(context))
        {
            return default;
        }

        var text = await QueryApi.ParamAsync(context, "direction").ConfigureAwait(false);
        return new Shape(true, QueryParameters.TryParseDirection(text, out var direction, out _) ? direction : Direction.Backward);
    }

    /// <summary><c>"encodingFlags": ["categorize-labels"]</c>.</summary>
    public static void WriteFlags(Utf8JsonWriter writer)
    {
        writer.WritePropertyName("encodingFlags"u8);
        writer.WriteStartArray();
        writer.WriteStringValue(Flag);
        writer.WriteEndArray();
    }

    /// <summary>A streams result with categorized labels: streams regrouped by their stream labels, values as 3-tuples.</summary>
    public static void WriteStreams(Utf8JsonWriter writer, StreamsResult result, Direction direction)
    {
        var groups = new Dictionary<LabelSet, List<(ResultEntry Entry, Categories Labels, int Order)>>();
        var order = 0;
        foreach (var stream in result.Streams)
        {
            Categories? last = null;
            LabelSet? lastMetadata = null;
            LabelSet? lastStream = null;
            foreach (var entry in stream.Entries)
            {
                // Entries of one result stream mostly share their metadata names: categorize once per run.
                if (last is null || !ReferenceEquals(entry.StructuredMetadata, lastMetadata) || !ReferenceEquals(entry.StreamLabels, lastStream))
                {
                    last = Categorize(stream.Labels, entry.StreamLabels, entry.StructuredMetadata);
                    lastMetadata = entry.StructuredMetadata;
                    lastStream = entry.StreamLabels;
                }

                if (!groups.TryGetValue(last.Stream, out var group))
                {
                    group = [];
                    groups[last.Stream] = group;
                }

                group.Add((entry, last, order++));
            }
        }

        var forward = direction == Direction.Forward;
        Span<byte> digits = stackalloc byte[24];
        writer.WriteStartArray();
        foreach (var (labels, entries) in groups.OrderBy(g => g.Key.ToString(), StringComparer.Ordinal))
        {
            // A group may join entries of several result streams: put them back in the query's order.
            entries.Sort((a, b) =>
            {
                var byTime = forward ? a.Entry.TimestampNs.CompareTo(b.Entry.TimestampNs) : b.Entry.TimestampNs.CompareTo(a.Entry.TimestampNs);
                return byTime != 0 ? byTime : a.Order.CompareTo(b.Order);
            });
            writer.WriteStartObject();
            writer.WritePropertyName("stream"u8);
            LokiJson.WriteLabels(writer, labels);
            writer.WritePropertyName("values"u8);
            writer.WriteStartArray();
            foreach (var (entry, categories, _) in entries)
            {
                writer.WriteStartArray();
                entry.TimestampNs.TryFormat(digits, out var written, default, CultureInfo.InvariantCulture);
                writer.WriteStringValue(digits[..written]);
                writer.WriteStringValue(entry.Line);
                writer.WriteStartObject();
                if (categories.Metadata.Count > 0)
                {
                    writer.WritePropertyName("structuredMetadata"u8);
                    WritePairs(writer, categories.Metadata);
                }

                if (categories.Parsed.Count > 0)
                {
                    writer.WritePropertyName("parsed"u8);
                    WritePairs(writer, categories.Parsed);
                }

                writer.WriteEndObject();
                writer.WriteEndArray();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    /// <summary>
    /// Splits an entry's final labels: a stream label still holding its stored value is a stream label, a name the entry
    /// was stored with as metadata is structured metadata, anything else a parser or formatter added is parsed (Loki puts
    /// <c>__error__</c> there too). Without the stored stream labels, all are stream labels.
    /// </summary>
    internal static Categories Categorize(LabelSet final, LabelSet? stored, LabelSet? metadata)
    {
        if (stored is null || (final.Equals(stored) && (metadata is null || metadata.Count == 0)))
        {
            return new Categories(final, [], []);
        }

        List<Label> stream = [];
        List<Label> structured = [];
        List<Label> parsed = [];
        foreach (var label in final)
        {
            if (stored.TryGetValue(label.Name, out var value) && value == label.Value)
            {
                stream.Add(label);
            }
            else if (metadata is not null && metadata.Contains(label.Name))
            {
                structured.Add(label);
            }
            else
            {
                parsed.Add(label);
            }
        }

        return new Categories(stream.Count == final.Count ? final : LabelSet.Create([.. stream]), structured, parsed);
    }

    private static void WritePairs(Utf8JsonWriter writer, List<Label> labels)
    {
        writer.WriteStartObject();
        foreach (var label in labels)
        {
            writer.WriteString(label.Name, label.Value);
        }

        writer.WriteEndObject();
    }

    /// <summary>Whether to categorize, and the query's direction.</summary>
    internal readonly record struct Shape(bool Categorize, Direction Direction);

    /// <summary>An entry's labels by kind.</summary>
    internal sealed record Categories(LabelSet Stream, List<Label> Metadata, List<Label> Parsed);
}
