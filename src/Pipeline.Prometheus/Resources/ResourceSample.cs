namespace Pipeline.Prometheus.Resources;

/// <summary>One value read by <see cref="ResourceSource"/>: a cAdvisor- or node_exporter-named series.</summary>
public readonly struct ResourceSample
{
    internal ResourceSample(string name, bool isCounter, KeyValuePair<string, string>[] labels, double value)
    {
        Name = name;
        IsCounter = isCounter;
        Labels = labels;
        Value = value;
    }

    /// <summary>The metric name, e.g. <c>container_cpu_usage_seconds_total</c>.</summary>
    public string Name { get; }

    /// <summary><see langword="true"/> for a cumulative counter, <see langword="false"/> for a gauge.</summary>
    public bool IsCounter { get; }

    /// <summary>The labels sorted by name (without <c>__name__</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; }

    /// <summary>The value (seconds, bytes or a count).</summary>
    public double Value { get; }
}
