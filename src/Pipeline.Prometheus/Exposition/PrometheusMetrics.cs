using System.Buffers;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Pipeline.Prometheus.Exposition;

/// <summary>
/// Listens to <see cref="System.Diagnostics.Metrics"/> instruments (through the OpenTelemetry SDK's aggregation)
/// and renders them in the Prometheus text format 0.0.4 or OpenMetrics. Serve it with
/// <see cref="PrometheusEndpointRouteBuilderExtensions.MapPrometheusMetrics(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder, string)"/>.
/// Thread-safe; dispose it to stop listening.
/// </summary>
public sealed class PrometheusMetrics : IDisposable
{
    private readonly MeterProvider _provider;
    private readonly BaseExportingMetricReader _reader;
    private readonly SnapshotExporter _exporter;
    private readonly Lock _gate = new();
    private bool _disposed;

    /// <summary>Starts listening to the configured meters.</summary>
    /// <param name="options">The options; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="PrometheusMetricsOptions.CardinalityLimit"/> is less than 1.</exception>
    /// <exception cref="ArgumentException"><see cref="PrometheusMetricsOptions.Meters"/> is empty or holds an empty name.</exception>
    public PrometheusMetrics(PrometheusMetricsOptions? options = null)
    {
        options ??= new PrometheusMetricsOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.CardinalityLimit, 1, "PrometheusMetricsOptions.CardinalityLimit");
        if (options.Meters.Count == 0 || options.Meters.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException(
                "PrometheusMetricsOptions.Meters must name at least one meter and hold no empty name.", nameof(options));
        }

        _exporter = new SnapshotExporter(options.TimeProvider ?? TimeProvider.System);
        _reader = new BaseExportingMetricReader(_exporter);
        var limit = options.CardinalityLimit;
        var builder = Sdk.CreateMeterProviderBuilder()
            .AddMeter([.. options.Meters])
            .AddView(_ => new MetricStreamConfiguration { CardinalityLimit = limit })
            .AddReader(_reader);
        _provider = builder.Build();
    }

    /// <summary>Collects every instrument now and writes the result as UTF-8 text.</summary>
    /// <param name="output">Where the text goes.</param>
    /// <param name="format">The text format.</param>
    /// <exception cref="ObjectDisposedException">This instance is disposed.</exception>
    public void WriteTo(IBufferWriter<byte> output, ExpositionFormat format)
    {
        ArgumentNullException.ThrowIfNull(output);
        ExpositionWriter.Write(output, Collect(), format);
    }

    /// <summary>Picks the format for an HTTP <c>Accept</c> header: OpenMetrics when it is preferred, else text 0.0.4.</summary>
    /// <param name="accept">The header's value; <see langword="null"/> or empty means text 0.0.4.</param>
    /// <returns>The format to answer in.</returns>
    public static ExpositionFormat NegotiateFormat(string? accept)
    {
        if (string.IsNullOrEmpty(accept))
        {
            return ExpositionFormat.PrometheusText;
        }

        double openMetrics = 0;
        double text = 0;
        foreach (var range in accept.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = range.Split(';', StringSplitOptions.TrimEntries);
            var quality = 1.0;
            for (var i = 1; i < parts.Length; i++)
            {
                if (parts[i].StartsWith("q=", StringComparison.OrdinalIgnoreCase)
                    && double.TryParse(parts[i].AsSpan(2), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var q))
                {
                    quality = q;
                }
            }

            if (parts[0].Equals("application/openmetrics-text", StringComparison.OrdinalIgnoreCase))
            {
                openMetrics = Math.Max(openMetrics, quality);
            }
            else if (parts[0].Equals("text/plain", StringComparison.OrdinalIgnoreCase) || parts[0] == "*/*" || parts[0].Equals("text/*", StringComparison.OrdinalIgnoreCase))
            {
                text = Math.Max(text, quality);
            }
        }

        return openMetrics > 0 && openMetrics >= text ? ExpositionFormat.OpenMetrics : ExpositionFormat.PrometheusText;
    }

    /// <summary>The <c>Content-Type</c> of a format.</summary>
    /// <param name="format">The format.</param>
    /// <returns>The media type with its version and charset.</returns>
    public static string GetContentType(ExpositionFormat format) =>
        format == ExpositionFormat.OpenMetrics ? ExpositionWriter.OpenMetricsContentType : ExpositionWriter.PrometheusTextContentType;

    /// <summary>Stops listening.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _provider.Dispose();
    }

    /// <summary>Collects every instrument now (observable callbacks run on this thread).</summary>
    internal MetricsSnapshot Collect()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _reader.Collect();
            return _exporter.TakeLatest();
        }
    }
}
