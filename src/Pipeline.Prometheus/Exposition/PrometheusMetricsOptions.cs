using Pipeline.Diagnostics;

namespace Pipeline.Prometheus.Exposition;

/// <summary>Options of <see cref="PrometheusMetrics"/>.</summary>
public sealed class PrometheusMetricsOptions
{
    /// <summary>The default of <see cref="CardinalityLimit"/>.</summary>
    public const int DefaultCardinalityLimit = 10_000;

    /// <summary>
    /// Names of the <see cref="System.Diagnostics.Metrics.Meter"/>s to export (a trailing <c>*</c> is a wildcard).
    /// Defaults to the pipeline's meter, <see cref="PipelineInstruments.MeterName"/>.
    /// </summary>
    public IList<string> Meters { get; } = [PipelineInstruments.MeterName];

    /// <summary>The most series one instrument keeps; further tag combinations fold into one overflow series.</summary>
    public int CardinalityLimit { get; set; } = DefaultCardinalityLimit;

    /// <summary>The clock stamped on collections (remote write uses it); defaults to <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; set; }
}
