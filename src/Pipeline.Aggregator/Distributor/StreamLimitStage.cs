using Pipeline.Loki.Receiver;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Aggregator.Distributor;

/// <summary>
/// The tenant's stream limits: at most <c>max_global_streams_per_user</c> active streams (entries of a new stream above it
/// are refused with 429) and each stream's rate (<c>per_stream_rate_limit</c>: a stream's entries of one push that do not
/// fit in its bucket are refused with 429), with Loki's messages. A stream stops counting as active after
/// <see cref="DistributorLimits.StreamIdleTimeout"/> without entries.
/// </summary>
internal sealed class StreamLimitStage(DistributorLimitsByTenant limits, TimeProvider time, DiscardCounters discards)
    : DistributorStage(limits, time, discards)
{
    private readonly Dictionary<string, TenantStreams> _tenants = new(StringComparer.Ordinal);
    private PushedStream? _lastShare;
    private object? _lastPush;

    public override StageResult Process(LogEntry entry)
    {
        // A push's entries come in runs of one stream: once the run's share is decided, its next entries need no lookup.
        var state = entry.Ack.SourceState;
        if (_lastShare is { Decided: true } last && ReferenceEquals(last.Labels, entry.Labels) && state is not null && ReferenceEquals(state, _lastPush))
        {
            return Verdict(entry, last.Refusal);
        }

        PushedStream? share = null;
        if (state is ReceivedPush push && push.TryGetStream(entry.Labels, out share))
        {
            _lastShare = share;
            _lastPush = push;
            if (share.Decided)
            {
                return Verdict(entry, share.Refusal);
            }
        }

        var limits = LimitsFor(entry.Tenant);
        var key = entry.Tenant ?? string.Empty;
        if (!_tenants.TryGetValue(key, out var tenant))
        {
            tenant = new TenantStreams(Time.GetTimestamp());
            _tenants[key] = tenant;
        }

        var now = Time.GetTimestamp();
        tenant.ExpireIdle(now, limits.StreamIdleTimeout, Time);
        EntryRejection? refusal = null;
        if (!tenant.Streams.TryGetValue(entry.Labels, out var stream))
        {
            if (limits.MaxStreamsPerTenant > 0 && tenant.Streams.Count >= limits.MaxStreamsPerTenant)
            {
                refusal = new EntryRejection(RejectionKind.Limited, DiscardReason.StreamLimit,
                    $"Maximum active stream limit exceeded when trying to create stream {entry.Labels}, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: '{entry.Tenant}'");
            }
            else
            {
                stream = new StreamState(limits.PerStreamRateBytes > 0 ? new TokenBucket(limits.PerStreamRateBytes, limits.PerStreamBurstBytes, Time) : null);
                tenant.Streams[entry.Labels] = stream;
            }
        }

        if (stream is not null)
        {
            stream.LastSeen = now;
            var bytes = share?.LineBytes ?? entry.LineLength;
            if (stream.Rate is { } rate && !rate.TryTake(bytes))
            {
                refusal = new EntryRejection(RejectionKind.Limited, DiscardReason.StreamRateLimit,
                    $"Per stream rate limit exceeded (limit: {LokiMessageFormat.Bytes(limits.PerStreamRateBytes)}/sec) while attempting to ingest for stream '{entry.Labels}' totaling {LokiMessageFormat.Bytes(bytes)}, consider splitting a stream via additional labels or contact your Loki administrator to see if the limit can be increased");
            }
        }

        share?.Decide(refusal);
        return Verdict(entry, refusal);
    }

    private StageResult Verdict(LogEntry entry, EntryRejection? refusal)
    {
        if (refusal is null)
        {
            return StageResult.Keep;
        }

        Discards.Add(entry.Tenant, refusal.Reason, 1, entry.LineLength);
        return StageResult.Reject(refusal);
    }

    private sealed class StreamState(TokenBucket? rate)
    {
        public TokenBucket? Rate { get; } = rate;

        public long LastSeen { get; set; }
    }

    private sealed class TenantStreams(long now)
    {
        private long _lastExpiry = now;

        public Dictionary<LabelSet, StreamState> Streams { get; } = [];

        public void ExpireIdle(long now, TimeSpan idle, TimeProvider time)
        {
            // A sweep per minute keeps an entry O(1).
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
}
