using Pipeline.Diagnostics;

namespace Pipeline.Prometheus.RemoteWrite;

/// <summary>Options of <see cref="RemoteWriteSink"/>. Defaults follow Prometheus' <c>queue_config</c>.</summary>
public sealed class RemoteWriteOptions
{
    /// <summary>Default <see cref="MaxSamplesPerSend"/>.</summary>
    public const int DefaultMaxSamplesPerSend = 2000;

    /// <summary>Default <see cref="Capacity"/>.</summary>
    public const int DefaultCapacity = 10_000;

    /// <summary>Default <see cref="MaxRetries"/>.</summary>
    public const int DefaultMaxRetries = 10;

    /// <summary>Default <see cref="BatchSendDeadline"/>.</summary>
    public static readonly TimeSpan DefaultBatchSendDeadline = TimeSpan.FromSeconds(5);

    /// <summary>Default <see cref="MinBackoff"/>.</summary>
    public static readonly TimeSpan DefaultMinBackoff = TimeSpan.FromMilliseconds(30);

    /// <summary>Default <see cref="MaxBackoff"/>.</summary>
    public static readonly TimeSpan DefaultMaxBackoff = TimeSpan.FromSeconds(5);

    /// <summary>The receiver, e.g. <c>http://prometheus:9090/api/v1/write</c>. Required.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>A request is sent when it holds this many samples.</summary>
    public int MaxSamplesPerSend { get; set; } = DefaultMaxSamplesPerSend;

    /// <summary>A request is sent at the latest this long after its first sample arrived.</summary>
    public TimeSpan BatchSendDeadline { get; set; } = DefaultBatchSendDeadline;

    /// <summary>Samples buffered before <see cref="RemoteWriteSink.WriteAsync"/> waits.</summary>
    public int Capacity { get; set; } = DefaultCapacity;

    /// <summary>Retries of one request after a 429, a 5xx or a network error; then its samples are dropped and counted.</summary>
    public int MaxRetries { get; set; } = DefaultMaxRetries;

    /// <summary>The first retry's delay; each further retry doubles it up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan MinBackoff { get; set; } = DefaultMinBackoff;

    /// <summary>The longest delay between retries.</summary>
    public TimeSpan MaxBackoff { get; set; } = DefaultMaxBackoff;

    /// <summary>Extra request headers (e.g. <c>X-Scope-OrgID</c> for Mimir).</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Where sent (samples), dropped{reason} and errors are counted; <see langword="null"/> for none.</summary>
    public ComponentMetrics? Metrics { get; set; }

    /// <summary>The clock for batching and backoff; defaults to <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; set; }
}
