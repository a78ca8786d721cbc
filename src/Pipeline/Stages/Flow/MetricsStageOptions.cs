using System.Diagnostics.Metrics;

namespace Pipeline.Stages.Flow;

/// <summary>Options of the <c>metrics</c> stage (<see cref="MetricsStage"/>), named as in Promtail.</summary>
public sealed class MetricsStageOptions
{
    /// <summary>The metric name -> its definition.</summary>
    public IDictionary<string, MetricDefinition> Metrics { get; init; } = new Dictionary<string, MetricDefinition>(StringComparer.Ordinal);

    /// <summary>
    /// The meter the instruments are created on (its exporter serves them on <c>/metrics</c>); default: a meter named
    /// <see cref="MetricsStage.DefaultMeterName"/>, owned by the stage.
    /// </summary>
    public Meter? Meter { get; set; }
}

/// <summary>One metric of the <c>metrics</c> stage.</summary>
public sealed class MetricDefinition
{
    /// <summary>The default of <see cref="Prefix"/> (Promtail's).</summary>
    public const string DefaultPrefix = "promtail_custom_";

    /// <summary><c>type</c>: Counter, Gauge or Histogram (case-insensitive).</summary>
    public string? Type { get; set; }

    /// <summary><c>description</c>: the metric's help text.</summary>
    public string? Description { get; set; }

    /// <summary><c>prefix</c>: prepended to the name (default <c>promtail_custom_</c>; set your own, or empty).</summary>
    public string? Prefix { get; set; }

    /// <summary><c>source</c>: the extracted value the metric reads (default: the metric's name).</summary>
    public string? Source { get; set; }

    /// <summary><c>max_idle_duration</c>: accepted for compatibility; series expiry is up to the exporter.</summary>
    public TimeSpan? MaxIdleDuration { get; set; }

    /// <summary><c>config.value</c>: only count entries whose source equals this.</summary>
    public string? Value { get; set; }

    /// <summary><c>config.action</c>: Counter: inc or add; Gauge: set, inc, dec, add or sub. Histograms observe the value.</summary>
    public string? Action { get; set; }

    /// <summary><c>config.match_all</c>: a Counter counts every entry, whatever the extracted values.</summary>
    public bool MatchAll { get; set; }

    /// <summary><c>config.count_entry_bytes</c>: with <see cref="MatchAll"/> and action add, a Counter adds the line's length in bytes.</summary>
    public bool CountEntryBytes { get; set; }

    /// <summary><c>config.buckets</c>: a Histogram's bucket upper bounds.</summary>
    public IList<double> Buckets { get; init; } = [];
}
