namespace Pipeline.Loki.Push;

/// <summary>
/// The instruments of <see cref="LokiPushSink"/>, named like Promtail's client metrics under our prefix
/// (a Prometheus exporter shows e.g. <c>pipeline_loki_sent_entries_total</c>). Tags: <c>pipeline</c>,
/// <c>component</c>, <c>host</c>; plus <c>reason</c> on dropped and <c>status_code</c> on request duration.
/// </summary>
public static class LokiPushInstruments
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "Pipeline.Loki";

    /// <summary>Entries delivered (2xx).</summary>
    public const string SentEntries = "pipeline.loki.sent_entries";

    /// <summary>Compressed body bytes delivered (2xx).</summary>
    public const string SentBytes = "pipeline.loki.sent_bytes";

    /// <summary>Entries dropped, by <c>reason</c>.</summary>
    public const string DroppedEntries = "pipeline.loki.dropped_entries";

    /// <summary>Request retries.</summary>
    public const string Retries = "pipeline.loki.retries";

    /// <summary>Request duration in seconds, by <c>status_code</c> (0 for a network error or timeout).</summary>
    public const string RequestDuration = "pipeline.loki.request_duration";

    /// <summary>Uncompressed batch size in bytes.</summary>
    public const string BatchSize = "pipeline.loki.batch_size";

    /// <summary>Batches being sent or retried.</summary>
    public const string InFlight = "pipeline.loki.in_flight";
}
