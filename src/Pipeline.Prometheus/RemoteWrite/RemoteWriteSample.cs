namespace Pipeline.Prometheus.RemoteWrite;

/// <summary>One sample to remote-write: a metric name, its labels (any order, without <c>__name__</c>), a value and a time.</summary>
public readonly struct RemoteWriteSample
{
    /// <summary>Creates a sample.</summary>
    /// <param name="name">The metric name (the <c>__name__</c> label).</param>
    /// <param name="labels">The other labels; a <c>__name__</c> among them is ignored.</param>
    /// <param name="value">The value.</param>
    /// <param name="timestampUnixMs">The time in Unix milliseconds.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty.</exception>
    public RemoteWriteSample(string name, IReadOnlyList<KeyValuePair<string, string>> labels, double value, long timestampUnixMs)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(labels);
        Name = name;
        Labels = labels;
        Value = value;
        TimestampUnixMs = timestampUnixMs;
    }

    /// <summary>The metric name.</summary>
    public string Name { get; }

    /// <summary>The labels other than <c>__name__</c>.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; }

    /// <summary>The value.</summary>
    public double Value { get; }

    /// <summary>The time in Unix milliseconds.</summary>
    public long TimestampUnixMs { get; }
}
