namespace Pipeline.Aggregator.Distributor;

/// <summary>Per-tenant validation and rate limits of pushes; defaults are Loki's.</summary>
public sealed class DistributorLimits
{
    /// <summary>Loki's <c>max_line_size</c>: 256 KB.</summary>
    public const int DefaultMaxLineSize = 256 * 1024;

    /// <summary>Loki's <c>max_label_names_per_series</c>: 15.</summary>
    public const int DefaultMaxLabelNamesPerSeries = 15;

    /// <summary>Loki's <c>max_label_name_length</c>: 1024.</summary>
    public const int DefaultMaxLabelNameLength = 1024;

    /// <summary>Loki's <c>max_label_value_length</c>: 2048.</summary>
    public const int DefaultMaxLabelValueLength = 2048;

    /// <summary>Loki's <c>ingestion_rate_mb</c>: 4 MB/s.</summary>
    public const double DefaultIngestionRateBytes = 4 * 1024 * 1024;

    /// <summary>Loki's <c>ingestion_burst_size_mb</c>: 6 MB.</summary>
    public const double DefaultIngestionBurstBytes = 6 * 1024 * 1024;

    /// <summary>Loki's <c>per_stream_rate_limit</c>: 3 MB/s.</summary>
    public const double DefaultPerStreamRateBytes = 3 * 1024 * 1024;

    /// <summary>Loki's <c>per_stream_rate_limit_burst</c>: 15 MB.</summary>
    public const double DefaultPerStreamBurstBytes = 15 * 1024 * 1024;

    /// <summary>Loki's <c>max_global_streams_per_user</c>: 5000.</summary>
    public const int DefaultMaxStreamsPerTenant = 5000;

    /// <summary>Loki's <c>reject_old_samples_max_age</c>: 168 h.</summary>
    public static readonly TimeSpan DefaultRejectOldSamplesMaxAge = TimeSpan.FromHours(168);

    /// <summary>Loki's <c>creation_grace_period</c>: 10 m.</summary>
    public static readonly TimeSpan DefaultCreationGracePeriod = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Loki's default <c>discover_service_name</c>: the labels whose first present value a stream without
    /// <c>service_name</c> gets as its <c>service_name</c>.
    /// </summary>
    public static IReadOnlyList<string> DefaultDiscoverServiceName { get; } =
    [
        "service", "app", "application", "app_name", "name", "app_kubernetes_io_name", "container", "container_name",
        "k8s_container_name", "component", "workload", "job", "k8s_job_name",
    ];

    /// <summary>
    /// Loki's <c>discover_service_name</c>: a stream without a <c>service_name</c> label gets one, the value of the first
    /// of these labels it has, or <c>unknown_service</c>. Empty turns service name discovery off.
    /// </summary>
    public IList<string> DiscoverServiceName { get; set; } = [.. DefaultDiscoverServiceName];

    /// <summary>
    /// Loki's <c>discover_log_levels</c> (default on): each entry without a <c>detected_level</c> gets one in its structured
    /// metadata, from a level label of its stream, a level field of its metadata, or its line (a JSON or logfmt level
    /// field, else the first level word).
    /// </summary>
    public bool DiscoverLogLevels { get; set; } = true;

    /// <summary>Longest line in bytes (0 = no limit); longer entries are refused with 400.</summary>
    public int MaxLineSize { get; set; } = DefaultMaxLineSize;

    /// <summary>Most label names of a stream.</summary>
    public int MaxLabelNamesPerSeries { get; set; } = DefaultMaxLabelNamesPerSeries;

    /// <summary>Longest label name, in characters.</summary>
    public int MaxLabelNameLength { get; set; } = DefaultMaxLabelNameLength;

    /// <summary>Longest label value, in characters.</summary>
    public int MaxLabelValueLength { get; set; } = DefaultMaxLabelValueLength;

    /// <summary>Refuse entries older than <see cref="RejectOldSamplesMaxAge"/> (Loki's <c>reject_old_samples</c>, default on).</summary>
    public bool RejectOldSamples { get; set; } = true;

    /// <summary>How old an entry may be when <see cref="RejectOldSamples"/> is on.</summary>
    public TimeSpan RejectOldSamplesMaxAge { get; set; } = DefaultRejectOldSamplesMaxAge;

    /// <summary>How far in the future an entry may be.</summary>
    public TimeSpan CreationGracePeriod { get; set; } = DefaultCreationGracePeriod;

    /// <summary>Tenant ingestion rate in bytes per second (line bytes, like Loki); over it the whole push gets 429. 0 disables.</summary>
    public double IngestionRateBytes { get; set; } = DefaultIngestionRateBytes;

    /// <summary>Tenant burst in bytes.</summary>
    public double IngestionBurstBytes { get; set; } = DefaultIngestionBurstBytes;

    /// <summary>Per-stream rate in bytes per second; entries of a stream over it are refused with 429. 0 disables.</summary>
    public double PerStreamRateBytes { get; set; } = DefaultPerStreamRateBytes;

    /// <summary>Per-stream burst in bytes.</summary>
    public double PerStreamBurstBytes { get; set; } = DefaultPerStreamBurstBytes;

    /// <summary>Most active streams of a tenant (0 = no limit); entries of new streams above it are refused with 429.</summary>
    public int MaxStreamsPerTenant { get; set; } = DefaultMaxStreamsPerTenant;

    /// <summary>How long a stream counts as active after its last push (for <see cref="MaxStreamsPerTenant"/>). Default 1 h.</summary>
    public TimeSpan StreamIdleTimeout { get; set; } = TimeSpan.FromHours(1);

    internal void Validate()
    {
        ArgumentNullException.ThrowIfNull(DiscoverServiceName, nameof(DiscoverServiceName));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxLineSize, nameof(MaxLineSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLabelNamesPerSeries, 1, nameof(MaxLabelNamesPerSeries));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLabelNameLength, 1, nameof(MaxLabelNameLength));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxLabelValueLength, 1, nameof(MaxLabelValueLength));
        ArgumentOutOfRangeException.ThrowIfNegative(IngestionRateBytes, nameof(IngestionRateBytes));
        ArgumentOutOfRangeException.ThrowIfNegative(IngestionBurstBytes, nameof(IngestionBurstBytes));
        ArgumentOutOfRangeException.ThrowIfNegative(PerStreamRateBytes, nameof(PerStreamRateBytes));
        ArgumentOutOfRangeException.ThrowIfNegative(PerStreamBurstBytes, nameof(PerStreamBurstBytes));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxStreamsPerTenant, nameof(MaxStreamsPerTenant));
        ArgumentOutOfRangeException.ThrowIfLessThan(RejectOldSamplesMaxAge, TimeSpan.Zero, nameof(RejectOldSamplesMaxAge));
        ArgumentOutOfRangeException.ThrowIfLessThan(CreationGracePeriod, TimeSpan.Zero, nameof(CreationGracePeriod));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(StreamIdleTimeout, TimeSpan.Zero, nameof(StreamIdleTimeout));
    }
}
