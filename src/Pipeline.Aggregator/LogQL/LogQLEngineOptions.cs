namespace Pipeline.Aggregator.LogQL;

/// <summary>Limits of the LogQL engine (defaults as Loki's).</summary>
public sealed class LogQLEngineOptions
{
    /// <summary>Default of <see cref="MaxSeries"/> (Loki's <c>max_query_series</c>).</summary>
    public const int DefaultMaxSeries = 500;

    /// <summary>Default of <see cref="MaxEntriesLimit"/> (Loki's <c>max_entries_limit_per_query</c>).</summary>
    public const int DefaultMaxEntriesLimit = 5000;

    /// <summary>Default of <see cref="MaxPoints"/> (Loki's 11,000 points per series).</summary>
    public const int DefaultMaxPoints = 11_000;

    /// <summary>Default of <see cref="MaxIntermediateSeries"/>.</summary>
    public const int DefaultMaxIntermediateSeries = 20_000;

    /// <summary>The default <see cref="MaxQueryLength"/>: 30 days and 1 hour, as Loki's <c>max_query_length</c>.</summary>
    public static readonly TimeSpan DefaultMaxQueryLength = TimeSpan.FromHours(721);

    /// <summary>Default of <see cref="MaxQueryBytes"/>: 512 MiB.</summary>
    public const long DefaultMaxQueryBytes = 512L << 20;

    /// <summary>The default time-out (Loki's <c>query_timeout</c>).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(1);

    /// <summary>The most series a metric query may return.</summary>
    public int MaxSeries { get; init; } = DefaultMaxSeries;

    /// <summary>The largest <c>limit</c> a log query may ask for.</summary>
    public int MaxEntriesLimit { get; init; } = DefaultMaxEntriesLimit;

    /// <summary>The most steps (points per series) a range query may have.</summary>
    public int MaxPoints { get; init; } = DefaultMaxPoints;

    /// <summary>The most series a range aggregation may hold before vector aggregation reduces them (bounds memory).</summary>
    public int MaxIntermediateSeries { get; init; } = DefaultMaxIntermediateSeries;

    /// <summary>The longest time range (end minus start) a query may cover (Loki's <c>max_query_length</c>).</summary>
    public TimeSpan MaxQueryLength { get; init; } = DefaultMaxQueryLength;

    /// <summary>
    /// The most memory one query may hold in its range accumulators (per-step state and quantile windows) and in the
    /// entries of its answer, as estimated while it runs; a query that would hold more fails with an error naming the
    /// limit (<c>max_query_bytes</c>).
    /// </summary>
    public long MaxQueryBytes { get; init; } = DefaultMaxQueryBytes;

    /// <summary>How long one query may run.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;
}
