using System.Globalization;
using System.Text.Json;
using Pipeline.Aggregator.LogQL;
using Pipeline.Model;

namespace Pipeline.Aggregator.Http;

/// <summary>Writes Loki's JSON shapes with a <see cref="Utf8JsonWriter"/>.</summary>
internal static class LokiJson
{
    public static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void WriteLabels(Utf8JsonWriter writer, LabelSet labels)
    {
        writer.WriteStartObject();
        foreach (var label in labels)
        {
            writer.WriteString(label.Name, label.Value);
        }

        writer.WriteEndObject();
    }

    /// <summary>Unix seconds as a JSON number with millisecond precision, as Prometheus and Loki write sample times.</summary>
    public static void WriteSeconds(Utf8JsonWriter writer, long ns)
    {
        var ms = Math.Floor(ns / 1_000_000.0);
        writer.WriteRawValue(((decimal)ms / 1000m).ToString("0.###", CultureInfo.InvariantCulture), skipInputValidation: true);
    }

    /// <summary>A sample value as Prometheus formats it (<c>strconv.FormatFloat(v, 'f', -1, 64)</c>).</summary>
    public static string FormatValue(double value)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }

        if (double.IsPositiveInfinity(value))
        {
            return "+Inf";
        }

        if (double.IsNegativeInfinity(value))
        {
            return "-Inf";
        }

        var text = value.ToString("R", CultureInfo.InvariantCulture);
        if (text.Contains('E', StringComparison.Ordinal))
        {
            text = Math.Abs(value) >= 1 ? value.ToString("F0", CultureInfo.InvariantCulture) : ((decimal)value).ToString(CultureInfo.InvariantCulture);
        }

        return text;
    }

    public static void WritePoint(Utf8JsonWriter writer, long ns, double value)
    {
        writer.WriteStartArray();
        WriteSeconds(writer, ns);
        writer.WriteStringValue(FormatValue(value));
        writer.WriteEndArray();
    }

    public static void WriteStreamValues(Utf8JsonWriter writer, IReadOnlyList<ResultEntry> entries)
    {
        Span<byte> digits = stackalloc byte[24];
        writer.WriteStartArray();
        foreach (var entry in entries)
        {
            writer.WriteStartArray();
            entry.TimestampNs.TryFormat(digits, out var written, default, CultureInfo.InvariantCulture);
            writer.WriteStringValue(digits[..written]);
            writer.WriteStringValue(entry.Line);
            writer.WriteEndArray();
        }

        writer.WriteEndArray();
    }

    public static void WriteResult(Utf8JsonWriter writer, QueryResult result)
    {
        switch (result)
        {
            case StreamsResult streams:
                writer.WriteStartArray();
                foreach (var stream in streams.Streams)
                {
                    writer.WriteStartObject();
                    writer.WritePropertyName("stream"u8);
                    WriteLabels(writer, stream.Labels);
                    writer.WritePropertyName("values"u8);
                    WriteStreamValues(writer, stream.Entries);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                break;
            case MatrixResult matrix:
                writer.WriteStartArray();
                foreach (var series in matrix.Series)
                {
                    writer.WriteStartObject();
                    writer.WritePropertyName("metric"u8);
                    WriteLabels(writer, series.Metric);
                    writer.WritePropertyName("values"u8);
                    writer.WriteStartArray();
                    foreach (var point in series.Points)
                    {
                        WritePoint(writer, point.TimestampNs, point.Value);
                    }

                    writer.WriteEndArray();
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                break;
            case VectorResult vector:
                writer.WriteStartArray();
                foreach (var sample in vector.Samples)
                {
                    writer.WriteStartObject();
                    writer.WritePropertyName("metric"u8);
                    WriteLabels(writer, sample.Metric);
                    writer.WritePropertyName("value"u8);
                    WritePoint(writer, sample.TimestampNs, sample.Value);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                break;
            case ScalarResult scalar:
                WritePoint(writer, scalar.TimestampNs, scalar.Value);
                break;
            default:
                writer.WriteStartArray();
                writer.WriteEndArray();
                break;
        }
    }

    /// <summary>The <c>stats.summary</c> block Grafana reads (Loki writes many more, all optional for clients).</summary>
    public static void WriteStats(Utf8JsonWriter writer, QueryStatistics stats)
    {
        var seconds = stats.ExecutionTime.TotalSeconds;
        writer.WriteStartObject();
        writer.WritePropertyName("summary"u8);
        writer.WriteStartObject();
        writer.WriteNumber("bytesProcessedPerSecond"u8, seconds > 0 ? (long)(stats.BytesScanned / seconds) : 0);
        writer.WriteNumber("linesProcessedPerSecond"u8, seconds > 0 ? (long)(stats.LinesScanned / seconds) : 0);
        writer.WriteNumber("totalBytesProcessed"u8, stats.BytesScanned);
        writer.WriteNumber("totalLinesProcessed"u8, stats.LinesScanned);
        writer.WriteNumber("execTime"u8, seconds);
        writer.WriteNumber("queueTime"u8, 0);
        writer.WriteNumber("subqueries"u8, 0);
        writer.WriteNumber("totalEntriesReturned"u8, stats.ResultCount);
        writer.WriteNumber("splits"u8, 0);
        writer.WriteNumber("shards"u8, 0);
        writer.WriteNumber("totalPostFilterLines"u8, stats.LinesScanned);
        writer.WriteNumber("totalStructuredMetadataBytesProcessed"u8, 0);
        writer.WriteEndObject();
        writer.WritePropertyName("querier"u8);
        writer.WriteStartObject();
        writer.WritePropertyName("store"u8);
        writer.WriteStartObject();
        writer.WriteNumber("totalChunksRef"u8, 0);
        writer.WriteNumber("totalChunksDownloaded"u8, 0);
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
