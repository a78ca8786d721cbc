using System.Diagnostics;
using System.Diagnostics.Metrics;

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

internal sealed class LokiPushMetrics
{
    private readonly Counter<long> _sentEntries;
    private readonly Counter<long> _sentBytes;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _retries;
    private readonly Histogram<double> _duration;
    private readonly Histogram<long> _batchSize;
    private readonly UpDownCounter<long> _inFlight;
    private readonly TagList _tags;

    public LokiPushMetrics(Meter meter, string pipeline, string component, string host)
    {
        _sentEntries = meter.CreateCounter<long>(LokiPushInstruments.SentEntries, "{entry}", "Entries delivered to Loki.");
        _sentBytes = meter.CreateCounter<long>(LokiPushInstruments.SentBytes, "By", "Compressed bytes delivered to Loki.");
        _dropped = meter.CreateCounter<long>(LokiPushInstruments.DroppedEntries, "{entry}", "Entries dropped, by reason.");
        _retries = meter.CreateCounter<long>(LokiPushInstruments.Retries, "{retry}", "Push retries.");
        _duration = meter.CreateHistogram<double>(LokiPushInstruments.RequestDuration, "s", "Push request duration, by status code.");
        _batchSize = meter.CreateHistogram<long>(LokiPushInstruments.BatchSize, "By", "Uncompressed push batch size.");
        _inFlight = meter.CreateUpDownCounter<long>(LokiPushInstruments.InFlight, "{batch}", "Batches being sent or retried.");
        _tags = new TagList { { "pipeline", pipeline }, { "component", component }, { "host", host } };
    }

    public void Sent(long entries, long bytes)
    {
        _sentEntries.Add(entries, _tags);
        _sentBytes.Add(bytes, _tags);
    }

    public void Dropped(long entries, string reason)
    {
        var tags = _tags;
        tags.Add("reason", reason);
        _dropped.Add(entries, tags);
    }

    public void Retry() => _retries.Add(1, _tags);

    public void Request(double seconds, int statusCode)
    {
        var tags = _tags;
        tags.Add("status_code", statusCode);
        _duration.Record(seconds, tags);
    }

    public void Batch(long bytes) => _batchSize.Record(bytes, _tags);

    public void InFlight(long delta) => _inFlight.Add(delta, _tags);
}
