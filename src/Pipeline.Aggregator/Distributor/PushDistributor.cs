using Pipeline.Runtime;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Pipeline.Aggregator.Ingester;
using Pipeline.Loki.Protocol;
using Pipeline.Model;

namespace Pipeline.Aggregator.Distributor;

/// <summary>
/// Loki's distributor for one node: validates a decoded push against the tenant's limits (line size, labels, sample age,
/// rates, active streams), stores what is valid and says what was refused, with Loki's messages and status codes.
/// </summary>
internal sealed class PushDistributor : IDisposable
{
    private const int MaxListedErrors = 100;
    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'";

    private readonly LogIngester _ingester;
    private readonly DistributorLimits _defaults;
    private readonly Dictionary<string, DistributorLimits> _perTenant;
    private readonly TimeProvider _time;
    private readonly IPushObserver? _observer;
    private readonly Dictionary<string, TenantState> _tenants = new(StringComparer.Ordinal);
    private readonly Lock _tenantsLock = new();
    private readonly Meter _meter;
    private readonly Counter<long> _discardedSamples;
    private readonly Counter<long> _discardedBytes;

    public PushDistributor(LogIngester ingester, DistributorLimits defaults, IDictionary<string, DistributorLimits> perTenant, TimeProvider time, IPushObserver? observer)
    {
        _ingester = ingester;
        _defaults = defaults;
        _perTenant = new Dictionary<string, DistributorLimits>(perTenant, StringComparer.Ordinal);
        _time = time;
        _observer = observer;
        _meter = new Meter(MeterName);
        _discardedSamples = _meter.CreateCounter<long>("loki_discarded_samples_total", description: "The total number of samples that were discarded.");
        _discardedBytes = _meter.CreateCounter<long>("loki_discarded_bytes_total", description: "The total number of bytes that were discarded.");
    }

    /// <summary>The meter of the discarded-samples counters.</summary>
    public const string MeterName = "Pipeline.Aggregator";

    public DistributorLimits LimitsOf(string tenant) => _perTenant.GetValueOrDefault(tenant) ?? _defaults;

    /// <summary>Counts entries refused before decoding finished (e.g. a body too large).</summary>
    public void Discard(string tenant, string reason, long samples, long bytes)
    {
        var tags = new TagList { { "reason", reason }, { "tenant", tenant } };
        _discardedSamples.Add(samples, tags);
        _discardedBytes.Add(bytes, tags);
    }

    public async Task<PushOutcome> PushAsync(string tenant, DecodedPush push, CancellationToken cancellationToken)
    {
        var limits = LimitsOf(tenant);
        var state = GetTenant(tenant, limits);
        var nowTs = _time.GetTimestamp();
        var nowNs = (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
        var oldestNs = limits.RejectOldSamples ? nowNs - (limits.RejectOldSamplesMaxAge.Ticks * 100) : long.MinValue;
        var newestNs = nowNs + (limits.CreationGracePeriod.Ticks * 100);
        var errors = new List<string>();
        var rateLimited = false;
        var rejected = 0;

        // 1. Validation (400 per entry or per stream).
        var valid = new List<(LabelSet Labels, List<IngestEntry> Entries, long Bytes)>(push.Streams.Count);
        long validBytes = 0;
        var validEntries = 0;
        foreach (var stream in push.Streams)
        {
            var labelError = ValidateLabels(stream.Labels, limits, out var reason);
            if (labelError is not null)
            {
                long bytes = 0;
                foreach (var entry in stream.Entries)
                {
                    bytes += entry.Line.Length;
                }

                Discard(tenant, reason!, stream.Entries.Count, bytes);
                rejected += stream.Entries.Count;
                errors.Add(labelError);
                continue;
            }

            var entries = new List<IngestEntry>(stream.Entries.Count);
            long streamBytes = 0;
            foreach (var entry in stream.Entries)
            {
                var length = entry.Line.Length;
                string? error = null;
                if (limits.MaxLineSize > 0 && length > limits.MaxLineSize)
                {
                    reason = DiscardReason.LineTooLong;
                    error = string.Format(CultureInfo.InvariantCulture, "Max entry size '{0}' bytes exceeded for stream '{1}' while adding an entry with length '{2}' bytes", limits.MaxLineSize, stream.Labels, length);
                }
                else if (entry.Timestamp < oldestNs)
                {
                    reason = DiscardReason.GreaterThanMaxSampleAge;
                    error = $"entry for stream '{stream.Labels}' has timestamp too old: {FormatTime(entry.Timestamp)}, oldest acceptable timestamp is: {FormatTime(oldestNs)}";
                }
                else if (entry.Timestamp > newestNs)
                {
                    reason = DiscardReason.TooFarInFuture;
                    error = $"entry for stream '{stream.Labels}' has timestamp too new: {FormatTime(entry.Timestamp)}";
                }

                if (error is not null)
                {
                    Discard(tenant, reason!, 1, length);
                    rejected++;
                    errors.Add(error);
                    continue;
                }

                entries.Add(new IngestEntry(entry.Timestamp, entry.Line, entry.StructuredMetadata.Count == 0 ? null : entry.StructuredMetadata));
                streamBytes += length;
            }

            if (entries.Count > 0)
            {
                valid.Add((stream.Labels, entries, streamBytes));
                validBytes += streamBytes;
                validEntries += entries.Count;
            }
        }

        // 2. Tenant rate (429, the whole request), then active streams and per-stream rates (429 for those streams).
        var accepted = new List<IngestStream>(valid.Count);
        lock (state.Gate)
        {
            if (validEntries > 0 && limits.IngestionRateBytes > 0 && !state.Rate!.TryTake(validBytes))
            {
                Discard(tenant, DiscardReason.RateLimited, validEntries, validBytes);
                var message = string.Format(
                    CultureInfo.InvariantCulture,
                    "Ingestion rate limit exceeded for user {0} (limit: {1} bytes/sec) while attempting to ingest '{2}' lines totaling '{3}' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased",
                    tenant, (long)limits.IngestionRateBytes, validEntries, validBytes);
                return new PushOutcome(StatusCodes.Status429TooManyRequests, message, 0, rejected + validEntries);
            }

            state.ExpireIdle(nowTs, limits.StreamIdleTimeout);
            foreach (var (labels, entries, bytes) in valid)
            {
                if (!state.Streams.TryGetValue(labels, out var stream))
                {
                    if (limits.MaxStreamsPerTenant > 0 && state.Streams.Count >= limits.MaxStreamsPerTenant)
                    {
                        Discard(tenant, DiscardReason.StreamLimit, entries.Count, bytes);
                        rejected += entries.Count;
                        rateLimited = true;
                        errors.Add($"Maximum active stream limit exceeded when trying to create stream {labels}, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: '{tenant}'");
                        continue;
                    }

                    stream = new StreamState(limits, nowTs, _time);
                    state.Streams[labels] = stream;
                }

                stream.LastSeen = nowTs;
                if (stream.Rate is { } rate && !rate.TryTake(bytes))
                {
                    Discard(tenant, DiscardReason.StreamRateLimit, entries.Count, bytes);
                    rejected += entries.Count;
                    rateLimited = true;
                    errors.Add($"Per stream rate limit exceeded (limit: {FormatBytes(limits.PerStreamRateBytes)}/sec) while attempting to ingest for stream '{labels}' totaling {FormatBytes(bytes)}, consider splitting a stream via additional labels or contact your Loki administrator to see if the limit can be increased");
                    continue;
                }

                accepted.Add(new IngestStream(labels, entries));
            }
        }

        // 3. Store; the ingester refuses entries too far behind their stream's newest (400).
        var stored = 0;
        if (accepted.Count > 0)
        {
            var result = await _ingester.AppendAsync(tenant, accepted, cancellationToken).ConfigureAwait(false);
            stored = result.Accepted + result.Duplicates;
            IReadOnlyList<IngestStream> notified = accepted;
            if (result.Rejections.Count > 0)
            {
                var refused = new HashSet<(int, int)>();
                foreach (var rejection in result.Rejections)
                {
                    var labels = accepted[rejection.StreamIndex].Labels;
                    var length = accepted[rejection.StreamIndex].Entries[rejection.EntryIndex].Line.Length;
                    Discard(tenant, DiscardReason.TooFarBehind, 1, length);
                    rejected++;
                    refused.Add((rejection.StreamIndex, rejection.EntryIndex));
                    errors.Add($"entry with timestamp {FormatTime(rejection.TimestampNs)} ignored, reason: '{rejection.Message}' for stream: {labels}");
                }

                notified = Without(accepted, refused);
            }

            if (_observer is not null && _observer.HasListeners(tenant))
            {
                _observer.OnPushed(tenant, notified);
            }
        }

        if (errors.Count == 0)
        {
            return new PushOutcome(StatusCodes.Status204NoContent, string.Empty, stored, 0);
        }

        var body = new StringBuilder();
        for (var i = 0; i < errors.Count && i < MaxListedErrors; i++)
        {
            body.Append(errors[i]).Append('\n');
        }

        if (errors.Count > MaxListedErrors)
        {
            body.Append(CultureInfo.InvariantCulture, $"... and {errors.Count - MaxListedErrors} more errors\n");
        }

        body.Append(CultureInfo.InvariantCulture, $"total ignored: {rejected} out of {rejected + stored}");
        return new PushOutcome(rateLimited ? StatusCodes.Status429TooManyRequests : StatusCodes.Status400BadRequest, body.ToString(), stored, rejected);
    }

    public void Dispose() => _meter.Dispose();

    private static List<IngestStream> Without(List<IngestStream> streams, HashSet<(int, int)> refused)
    {
        var result = new List<IngestStream>(streams.Count);
        for (var s = 0; s < streams.Count; s++)
        {
            var entries = new List<IngestEntry>(streams[s].Entries.Count);
            for (var e = 0; e < streams[s].Entries.Count; e++)
            {
                if (!refused.Contains((s, e)))
                {
                    entries.Add(streams[s].Entries[e]);
                }
            }

            if (entries.Count > 0)
            {
                result.Add(new IngestStream(streams[s].Labels, entries));
            }
        }

        return result;
    }

    private static string? ValidateLabels(LabelSet labels, DistributorLimits limits, out string? reason)
    {
        if (labels.Count > limits.MaxLabelNamesPerSeries)
        {
            reason = DiscardReason.MaxLabelNamesPerSeries;
            return string.Format(CultureInfo.InvariantCulture, "entry for stream '{0}' has {1} label names; limit {2}", labels, labels.Count, limits.MaxLabelNamesPerSeries);
        }

        foreach (var label in labels)
        {
            if (label.Name.Length > limits.MaxLabelNameLength)
            {
                reason = DiscardReason.LabelNameTooLong;
                return $"stream '{labels}' has label name too long: '{label.Name}'";
            }

            if (label.Value.Length > limits.MaxLabelValueLength)
            {
                reason = DiscardReason.LabelValueTooLong;
                return $"stream '{labels}' has label value too long: '{label.Value}'";
            }
        }

        reason = null;
        return null;
    }

    private static string FormatTime(long ns) =>
        DateTimeOffset.UnixEpoch.AddTicks(ns / 100).ToString(TimeFormat, CultureInfo.InvariantCulture);

    /// <summary>Bytes as Loki's <c>flagext.ByteSize</c> prints them (e.g. <c>3MB</c>).</summary>
    private static string FormatBytes(double bytes)
    {
        string[] units = ["B", "KB", "MB", "GB", "TB"];
        var unit = 0;
        while (bytes >= 1024 && unit < units.Length - 1 && bytes % 1024 == 0)
        {
            bytes /= 1024;
            unit++;
        }

        return bytes.ToString("0.##", CultureInfo.InvariantCulture) + units[unit];
    }

    private TenantState GetTenant(string tenant, DistributorLimits limits)
    {
        lock (_tenantsLock)
        {
            if (!_tenants.TryGetValue(tenant, out var state))
            {
                state = new TenantState(limits, _time.GetTimestamp(), _time);
                _tenants[tenant] = state;
            }

            return state;
        }
    }

    private sealed class TenantState(DistributorLimits limits, long now, TimeProvider time)
    {
        private long _lastExpiry = now;

        public Lock Gate { get; } = new();

        public TokenBucket? Rate { get; } = limits.IngestionRateBytes > 0 ? new TokenBucket(limits.IngestionRateBytes, limits.IngestionBurstBytes, time) : null;

        public Dictionary<LabelSet, StreamState> Streams { get; } = [];

        public void ExpireIdle(long now, TimeSpan idle)
        {
            // A sweep per minute keeps pushes O(streams in the push).
            if (time.GetElapsedTime(_lastExpiry, now) < TimeSpan.FromMinutes(1))
            {
                return;
            }

            _lastExpiry = now;
            List<LabelSet>? idleStreams = null;
            foreach (var (labels, stream) in Streams)
            {
                if (time.GetElapsedTime(stream.LastSeen, now) > idle)
                {
                    (idleStreams ??= []).Add(labels);
                }
            }

            foreach (var labels in idleStreams ?? [])
            {
                Streams.Remove(labels);
            }
        }
    }

    private sealed class StreamState(DistributorLimits limits, long now, TimeProvider time)
    {
        public long LastSeen { get; set; } = now;

        public TokenBucket? Rate { get; } = limits.PerStreamRateBytes > 0 ? new TokenBucket(limits.PerStreamRateBytes, limits.PerStreamBurstBytes, time) : null;
    }
}
