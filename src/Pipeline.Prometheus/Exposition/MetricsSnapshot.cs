namespace Pipeline.Prometheus.Exposition;

/// <summary>The Prometheus type of a metric family.</summary>
internal enum MetricKind
{
    Counter,
    Gauge,
    Histogram,
}

/// <summary>One collection of every exported instrument, in Prometheus terms (names and labels already sanitized).</summary>
internal sealed class MetricsSnapshot
{
    public MetricsSnapshot(IReadOnlyList<MetricFamily> families, long timestampUnixMs, long droppedSeries)
    {
        Families = families;
        TimestampUnixMs = timestampUnixMs;
        DroppedSeries = droppedSeries;
    }

    /// <summary>Families sorted by name; names are unique.</summary>
    public IReadOnlyList<MetricFamily> Families { get; }

    /// <summary>When the collection ran.</summary>
    public long TimestampUnixMs { get; }

    /// <summary>Series left out because their family name had another type or their labels repeated a series.</summary>
    public long DroppedSeries { get; }
}

/// <summary>A metric family: one name, one type, its series.</summary>
internal sealed class MetricFamily
{
    public MetricFamily(string name, string help, MetricKind kind)
    {
        Name = name;
        Help = help;
        Kind = kind;
    }

    /// <summary>The family name; for a counter without the <c>_total</c> suffix.</summary>
    public string Name { get; }

    public string Help { get; }

    public MetricKind Kind { get; }

    public List<MetricSeries> Series { get; } = [];
}

/// <summary>One series of a family.</summary>
internal sealed class MetricSeries
{
    public MetricSeries(KeyValuePair<string, string>[] labels)
    {
        Labels = labels;
    }

    /// <summary>Labels sorted by name (ordinal), without <c>__name__</c> and <c>le</c>.</summary>
    public KeyValuePair<string, string>[] Labels { get; }

    /// <summary>Counter or gauge value.</summary>
    public double Value { get; set; }

    /// <summary>Histogram sum.</summary>
    public double Sum { get; set; }

    /// <summary>Histogram count.</summary>
    public long Count { get; set; }

    /// <summary>Histogram upper bounds, without +Inf.</summary>
    public double[]? Bounds { get; set; }

    /// <summary>Cumulative bucket counts: one per bound, then +Inf (equal to <see cref="Count"/>).</summary>
    public long[]? CumulativeCounts { get; set; }
}
