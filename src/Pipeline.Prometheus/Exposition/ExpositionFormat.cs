namespace Pipeline.Prometheus.Exposition;

/// <summary>The text formats <c>/metrics</c> can answer in.</summary>
public enum ExpositionFormat
{
    /// <summary>The Prometheus text format 0.0.4 (<c>text/plain; version=0.0.4</c>).</summary>
    PrometheusText,

    /// <summary>OpenMetrics 1.0.0 (<c>application/openmetrics-text; version=1.0.0</c>), ends with <c># EOF</c>.</summary>
    OpenMetrics,
}
