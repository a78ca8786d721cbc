using System.Buffers;
using System.Globalization;
using System.Text;

namespace Pipeline.Prometheus.Exposition;

/// <summary>Writes a <see cref="MetricsSnapshot"/> in the Prometheus text format 0.0.4 or OpenMetrics 1.0.0, as UTF-8.</summary>
internal static class ExpositionWriter
{
    public const string PrometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8";
    public const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    public static void Write(IBufferWriter<byte> output, MetricsSnapshot snapshot, ExpositionFormat format)
    {
        ArgumentNullException.ThrowIfNull(output);
        var openMetrics = format == ExpositionFormat.OpenMetrics;
        foreach (var family in snapshot.Families)
        {
            if (family.Series.Count == 0)
            {
                continue;
            }

            // 0.0.4 names a counter family by its sample name (x_total); OpenMetrics by the bare name.
            var familyName = family.Kind == MetricKind.Counter && !openMetrics ? family.Name + "_total" : family.Name;
            if (family.Help.Length != 0)
            {
                WriteAscii(output, "# HELP ");
                WriteAscii(output, familyName);
                WriteAscii(output, " ");
                WriteEscaped(output, family.Help, escapeQuote: openMetrics);
                WriteAscii(output, "\n");
            }

            WriteAscii(output, "# TYPE ");
            WriteAscii(output, familyName);
            WriteAscii(output, family.Kind switch
            {
                MetricKind.Counter => " counter\n",
                MetricKind.Gauge => " gauge\n",
                _ => " histogram\n",
            });

            foreach (var series in family.Series)
            {
                switch (family.Kind)
                {
                    case MetricKind.Counter:
                        WriteSample(output, family.Name, "_total", series.Labels, null, series.Value);
                        break;
                    case MetricKind.Gauge:
                        WriteSample(output, family.Name, null, series.Labels, null, series.Value);
                        break;
                    default:
                        WriteHistogram(output, family.Name, series, openMetrics);
                        break;
                }
            }
        }

        if (openMetrics)
        {
            WriteAscii(output, "# EOF\n");
        }
    }

    /// <summary>Formats a sample value the way Prometheus parses it: shortest round-trip, <c>+Inf</c>, <c>-Inf</c>, <c>NaN</c>.</summary>
    public static string FormatValue(double value)
    {
        Span<byte> buffer = stackalloc byte[32];
        var length = FormatValue(value, buffer, floatForm: false);
        return Encoding.ASCII.GetString(buffer[..length]);
    }

    private static void WriteHistogram(IBufferWriter<byte> output, string name, MetricSeries series, bool openMetrics)
    {
        var bounds = series.Bounds ?? [];
        var counts = series.CumulativeCounts ?? [series.Count];
        for (var i = 0; i < bounds.Length; i++)
        {
            WriteSample(output, name, "_bucket", series.Labels, bounds[i], counts[i], openMetrics);
        }

        WriteSample(output, name, "_bucket", series.Labels, double.PositiveInfinity, series.Count, openMetrics);
        WriteSample(output, name, "_sum", series.Labels, null, series.Sum);
        WriteSample(output, name, "_count", series.Labels, null, series.Count);
    }

    private static void WriteSample(
        IBufferWriter<byte> output,
        string name,
        string? suffix,
        KeyValuePair<string, string>[] labels,
        double? le,
        double value,
        bool openMetrics = false)
    {
        WriteAscii(output, name);
        if (suffix is not null)
        {
            WriteAscii(output, suffix);
        }

        if (labels.Length != 0 || le is not null)
        {
            WriteAscii(output, "{");
            for (var i = 0; i < labels.Length; i++)
            {
                if (i != 0)
                {
                    WriteAscii(output, ",");
                }

                WriteAscii(output, labels[i].Key);
                WriteAscii(output, "=\"");
                WriteEscaped(output, labels[i].Value, escapeQuote: true);
                WriteAscii(output, "\"");
            }

            if (le is { } bound)
            {
                WriteAscii(output, labels.Length != 0 ? ",le=\"" : "le=\"");

                // OpenMetrics wants canonical floats in le ("1.0", not "1").
                var span = output.GetSpan(32);
                var written = FormatValue(bound, span, floatForm: openMetrics);
                output.Advance(written);
                WriteAscii(output, "\"");
            }

            WriteAscii(output, "}");
        }

        WriteAscii(output, " ");
        var valueSpan = output.GetSpan(32);
        output.Advance(FormatValue(value, valueSpan, floatForm: false));
        WriteAscii(output, "\n");
    }

    private static int FormatValue(double value, Span<byte> destination, bool floatForm)
    {
        if (double.IsPositiveInfinity(value))
        {
            "+Inf"u8.CopyTo(destination);
            return 4;
        }

        if (double.IsNegativeInfinity(value))
        {
            "-Inf"u8.CopyTo(destination);
            return 4;
        }

        if (double.IsNaN(value))
        {
            "NaN"u8.CopyTo(destination);
            return 3;
        }

        value.TryFormat(destination, out var written, default, CultureInfo.InvariantCulture);
        if (floatForm && destination[..written].IndexOfAny(".E"u8) < 0)
        {
            ".0"u8.CopyTo(destination[written..]);
            written += 2;
        }

        return written;
    }

    private static void WriteAscii(IBufferWriter<byte> output, string text)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    /// <summary>Escapes <c>\</c>, newline and (in label values and OpenMetrics help) <c>"</c>.</summary>
    private static void WriteEscaped(IBufferWriter<byte> output, string text, bool escapeQuote)
    {
        var special = escapeQuote ? text.AsSpan().IndexOfAny("\\\n\"") : text.AsSpan().IndexOfAny('\\', '\n');
        if (special < 0)
        {
            WriteAscii(output, text);
            return;
        }

        var builder = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            switch (c)
            {
                case '\\':
                    builder.Append("\\\\");
                    break;
                case '\n':
                    builder.Append("\\n");
                    break;
                case '"' when escapeQuote:
                    builder.Append("\\\"");
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }

        WriteAscii(output, builder.ToString());
    }
}
