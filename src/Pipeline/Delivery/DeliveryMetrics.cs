using System.Diagnostics;
using System.Diagnostics.Metrics;
using Pipeline.Diagnostics;

namespace Pipeline.Delivery;

/// <summary>
/// The instrument names of one kind of sink on the delivery layer: <c>{prefix}.sent_{items}</c>,
/// <c>{prefix}.sent_bytes</c>, <c>{prefix}.dropped_{items}</c>, <c>{prefix}.retries</c>,
/// <c>{prefix}.request_duration</c>, <c>{prefix}.batch_size</c> and <c>{prefix}.in_flight</c>.
/// </summary>
/// <param name="Prefix">E.g. <c>pipeline.loki</c>.</param>
/// <param name="Items">What the sink sends, plural, e.g. <c>entries</c> or <c>samples</c>.</param>
public sealed record DeliveryInstrumentNames(string Prefix, string Items)
{
    /// <summary>Items delivered (2xx).</summary>
    public string SentItems => $"{Prefix}.sent_{Items}";

    /// <summary>Body bytes delivered (2xx).</summary>
    public string SentBytes => $"{Prefix}.sent_bytes";

    /// <summary>Items dropped, by <c>reason</c>.</summary>
    public string DroppedItems => $"{Prefix}.dropped_{Items}";

    /// <summary>Request retries.</summary>
    public string Retries => $"{Prefix}.retries";

    /// <summary>Request duration in seconds, by <c>status_code</c> (0 for a network error or time-out).</summary>
    public string RequestDuration => $"{Prefix}.request_duration";

    /// <summary>Uncompressed batch size.</summary>
    public string BatchSize => $"{Prefix}.batch_size";

    /// <summary>Batches being sent or retried.</summary>
    public string InFlight => $"{Prefix}.in_flight";
}

/// <summary>
/// What every sink on the delivery layer reports: the component's sent / dropped{reason} / errors
/// (<see cref="ComponentMetrics"/>), the sink kind's instruments (<see cref="DeliveryInstrumentNames"/>, tagged
/// <c>pipeline</c>, <c>component</c>, <c>host</c>), and running totals for tests and status pages. Thread-safe.
/// </summary>
public sealed class DeliveryMetrics
{
    private readonly ComponentMetrics? _component;
    private readonly Counter<long>? _sentItems;
    private readonly Counter<long>? _sentBytes;
    private readonly Counter<long>? _dropped;
    private readonly Counter<long>? _retries;
    private readonly Histogram<double>? _duration;
    private readonly Histogram<long>? _batchSize;
    private readonly UpDownCounter<long>? _inFlight;
    private readonly TagList _tags;
    private long _sent;
    private long _droppedTotal;
    private long _failedAttempts;
    private long _requests;

    /// <summary>Creates the metrics of one sink.</summary>
    /// <param name="component">The component's four counters; <see langword="null"/> for none.</param>
    /// <param name="meter">Where the sink kind's instruments go; <see langword="null"/> for none.</param>
    /// <param name="names">The instrument names; needed with <paramref name="meter"/>.</param>
    /// <param name="pipeline">The <c>pipeline</c> tag.</param>
    /// <param name="componentName">The <c>component</c> tag.</param>
    /// <param name="host">The <c>host</c> tag (the receiver's authority).</param>
    public DeliveryMetrics(ComponentMetrics? component, Meter? meter, DeliveryInstrumentNames? names, string pipeline, string componentName, string host)
    {
        _component = component;
        if (meter is not null && names is not null)
        {
            _sentItems = meter.CreateCounter<long>(names.SentItems, "{" + names.Items + "}", "Items delivered.");
            _sentBytes = meter.CreateCounter<long>(names.SentBytes, "By", "Compressed bytes delivered.");
            _dropped = meter.CreateCounter<long>(names.DroppedItems, "{" + names.Items + "}", "Items dropped, by reason.");
            _retries = meter.CreateCounter<long>(names.Retries, "{retry}", "Request retries.");
            _duration = meter.CreateHistogram<double>(names.RequestDuration, "s", "Request duration, by status code.");
            _batchSize = meter.CreateHistogram<long>(names.BatchSize, "By", "Uncompressed batch size.");
            _inFlight = meter.CreateUpDownCounter<long>(names.InFlight, "{batch}", "Batches being sent or retried.");
        }

        _tags = new TagList { { "pipeline", pipeline }, { "component", componentName }, { "host", host } };
    }

    /// <summary>Items delivered so far.</summary>
    public long SentItems => Interlocked.Read(ref _sent);

    /// <summary>Items dropped so far, for any reason.</summary>
    public long DroppedItems => Interlocked.Read(ref _droppedTotal);

    /// <summary>Attempts that failed in a retryable way (each one counted).</summary>
    public long FailedAttempts => Interlocked.Read(ref _failedAttempts);

    /// <summary>Requests delivered (2xx).</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Counts a delivered request.</summary>
    /// <param name="items">Its items.</param>
    /// <param name="bytes">Its body bytes.</param>
    public void Sent(long items, long bytes)
    {
        Interlocked.Add(ref _sent, items);
        Interlocked.Increment(ref _requests);
        _component?.AddSent(items);
        _sentItems?.Add(items, _tags);
        _sentBytes?.Add(bytes, _tags);
    }

    /// <summary>Counts items dropped for good.</summary>
    /// <param name="items">How many.</param>
    /// <param name="reason">Why (the <c>reason</c> tag).</param>
    public void Dropped(long items, string reason)
    {
        Interlocked.Add(ref _droppedTotal, items);
        _component?.AddDropped(items, reason);
        if (_dropped is not null)
        {
            var tags = _tags;
            tags.Add("reason", reason);
            _dropped.Add(items, tags);
        }
    }

    /// <summary>Counts an attempt that failed in a retryable way.</summary>
    public void Error()
    {
        Interlocked.Increment(ref _failedAttempts);
        _component?.AddErrors();
    }

    /// <summary>Counts a retry.</summary>
    public void Retry() => _retries?.Add(1, _tags);

    /// <summary>Records one request's duration.</summary>
    /// <param name="seconds">How long it took.</param>
    /// <param name="statusCode">Its status, 0 for a network error or time-out.</param>
    public void Request(double seconds, int statusCode)
    {
        if (_duration is not null)
        {
            var tags = _tags;
            tags.Add("status_code", statusCode);
            _duration.Record(seconds, tags);
        }
    }

    /// <summary>Records a batch's uncompressed size.</summary>
    /// <param name="bytes">The size.</param>
    public void Batch(long bytes) => _batchSize?.Record(bytes, _tags);

    /// <summary>Counts batches starting (+1) or ending (-1) their delivery.</summary>
    /// <param name="delta">+1 or -1.</param>
    public void InFlight(long delta) => _inFlight?.Add(delta, _tags);
}
