using System.Globalization;
using Pipeline.Loki.Receiver;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Aggregator.Distributor;

/// <summary>
/// The tenant's ingestion rate (Loki's <c>ingestion_rate_mb</c> / <c>ingestion_burst_size_mb</c>): a push whose validated
/// size — as in Loki's distributor, the line and structured metadata bytes of the entries that pass
/// <see cref="PushValidationStage"/> — does not fit in the tenant's bucket is refused whole with 429 and Loki's message.
/// </summary>
internal sealed class TenantRateLimitStage(DistributorLimitsByTenant limits, TimeProvider time, DiscardCounters discards, PushValidationStage validation)
    : DistributorStage(limits, time, discards)
{
    private readonly Dictionary<string, TokenBucket> _buckets = new(StringComparer.Ordinal);

    public override StageResult Process(LogEntry entry)
    {
        var limits = LimitsFor(entry.Tenant);
        if (limits.IngestionRateBytes <= 0)
        {
            return StageResult.Keep;
        }

        EntryRejection? refusal;
        if (entry.Ack.SourceState is ReceivedPush push)
        {
            if (push.Decided)
            {
                refusal = push.Refusal;
            }
            else
            {
                var (count, bytes) = validation.Validated(entry, push);
                refusal = push.Decide(TryTake(entry.Tenant, limits, count, bytes));
            }
        }
        else
        {
            refusal = TryTake(entry.Tenant, limits, 1, entry.LineLength);
        }

        if (refusal is null)
        {
            return StageResult.Keep;
        }

        Discards.Add(entry.Tenant, DiscardReason.RateLimited, 1, entry.LineLength);
        return StageResult.Reject(refusal);
    }

    private EntryRejection? TryTake(string? tenant, DistributorLimits limits, int entries, long bytes)
    {
        var key = tenant ?? string.Empty;
        if (!_buckets.TryGetValue(key, out var bucket))
        {
            bucket = new TokenBucket(limits.IngestionRateBytes, limits.IngestionBurstBytes, Time);
            _buckets[key] = bucket;
        }

        if (bucket.TryTake(bytes))
        {
            return null;
        }

        return new EntryRejection(RejectionKind.Limited, DiscardReason.RateLimited, string.Format(
            CultureInfo.InvariantCulture,
            "Ingestion rate limit exceeded for user {0} (limit: {1} bytes/sec) while attempting to ingest '{2}' lines totaling '{3}' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased",
            tenant, (long)limits.IngestionRateBytes, entries, bytes));
    }
}
