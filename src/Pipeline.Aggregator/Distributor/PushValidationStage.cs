using System.Globalization;
using Pipeline.Loki.Receiver;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Aggregator.Distributor;

/// <summary>
/// The distributor's validation (Loki's <c>validate.go</c>): a stream's labels (count, name and value length), each
/// line's size, and its timestamp (not older than <c>reject_old_samples_max_age</c>, not past the creation grace
/// period). An invalid entry is refused with 400 and Loki's message; the rest of its push is still stored.
/// </summary>
internal sealed class PushValidationStage(DistributorLimitsByTenant limits, TimeProvider time, DiscardCounters discards)
    : DistributorStage(limits, time, discards)
{
    private const int MaxCachedLabelSets = 16 * 1024;

    private readonly Dictionary<(DistributorLimits, LabelSet), EntryRejection?> _labelVerdicts = [];
    private object? _lastRequest;
    private long _nowNs;
    private DistributorLimits? _lastLimits;
    private LabelSet? _lastLabels;
    private EntryRejection? _lastVerdict;

    public override StageResult Process(LogEntry entry)
    {
        // A push's entries come in runs of one tenant and stream: decide the labels once per run, not per entry.
        var limits = LimitsFor(entry.Tenant);
        if (!ReferenceEquals(limits, _lastLimits) || !ReferenceEquals(entry.Labels, _lastLabels))
        {
            _lastLimits = limits;
            _lastLabels = entry.Labels;
            _lastVerdict = LabelVerdict(limits, entry.Labels);
        }

        var rejection = _lastVerdict;
        if (rejection is null)
        {
            var length = entry.LineLength;
            var ts = entry.Timestamp;
            var now = Now(entry);
            var reason = EntryReason(limits, length, ts, now);
            if (reason is null)
            {
                return StageResult.Keep;
            }

            rejection = EntryRejection(reason, limits, entry.Labels, length, ts, now);
        }

        Discards.Add(entry.Tenant, rejection.Reason, 1, entry.LineLength);
        return StageResult.Reject(rejection);
    }

    /// <summary>
    /// Loki's validated size of the request <paramref name="entry"/> belongs to: the count and bytes (line and structured
    /// metadata) of its entries that pass validation — what the tenant's rate limit charges, as Loki's distributor does.
    /// </summary>
    public (int Count, long Bytes) Validated(LogEntry entry, ReceivedPush push)
    {
        var limits = LimitsFor(entry.Tenant);
        var now = Now(entry);
        var count = 0;
        long bytes = 0;
        foreach (var stream in push.Streams)
        {
            if (LabelVerdict(limits, stream.Labels) is not null)
            {
                continue;
            }

            foreach (var pushed in stream.Entries)
            {
                if (EntryReason(limits, pushed.LineLength, pushed.Timestamp, now) is null)
                {
                    count++;
                    bytes += pushed.Bytes;
                }
            }
        }

        return (count, bytes);
    }

    private static string? EntryReason(DistributorLimits limits, int length, long ts, long now)
    {
        if (limits.MaxLineSize > 0 && length > limits.MaxLineSize)
        {
            return DiscardReason.LineTooLong;
        }

        if (limits.RejectOldSamples && ts < now - (limits.RejectOldSamplesMaxAge.Ticks * 100))
        {
            return DiscardReason.GreaterThanMaxSampleAge;
        }

        return ts > now + (limits.CreationGracePeriod.Ticks * 100) ? DiscardReason.TooFarInFuture : null;
    }

    private static EntryRejection EntryRejection(string reason, DistributorLimits limits, LabelSet labels, int length, long ts, long now) => reason switch
    {
        DiscardReason.LineTooLong => new EntryRejection(RejectionKind.Invalid, reason, string.Format(
            CultureInfo.InvariantCulture,
            "Max entry size '{0}' bytes exceeded for stream '{1}' while adding an entry with length '{2}' bytes",
            limits.MaxLineSize, labels, length)),
        DiscardReason.GreaterThanMaxSampleAge => new EntryRejection(RejectionKind.Invalid, reason,
            $"entry for stream '{labels}' has timestamp too old: {LokiMessageFormat.Time(ts)}, oldest acceptable timestamp is: {LokiMessageFormat.Time(now - (limits.RejectOldSamplesMaxAge.Ticks * 100))}"),
        _ => new EntryRejection(RejectionKind.Invalid, reason, $"entry for stream '{labels}' has timestamp too new: {LokiMessageFormat.Time(ts)}"),
    };

    private long Now(LogEntry entry)
    {
        // One clock read per push request, not per line.
        var request = entry.Ack.SourceState;
        if (request is null || !ReferenceEquals(request, _lastRequest))
        {
            _lastRequest = request;
            _nowNs = (Time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
        }

        return _nowNs;
    }

    private EntryRejection? LabelVerdict(DistributorLimits limits, LabelSet labels)
    {
        if (_labelVerdicts.TryGetValue((limits, labels), out var verdict))
        {
            return verdict;
        }

        verdict = ValidateLabels(labels, limits);
        if (_labelVerdicts.Count >= MaxCachedLabelSets)
        {
            _labelVerdicts.Clear();
        }

        _labelVerdicts[(limits, labels)] = verdict;
        return verdict;
    }

    private static EntryRejection? ValidateLabels(LabelSet labels, DistributorLimits limits)
    {
        if (labels.Count == 0)
        {
            return new EntryRejection(RejectionKind.Invalid, DiscardReason.InvalidLabels, "error at least one label pair is required per stream");
        }

        if (labels.Count > limits.MaxLabelNamesPerSeries)
        {
            return new EntryRejection(RejectionKind.Invalid, DiscardReason.MaxLabelNamesPerSeries, string.Format(
                CultureInfo.InvariantCulture, "entry for stream '{0}' has {1} label names; limit {2}", labels, labels.Count, limits.MaxLabelNamesPerSeries));
        }

        foreach (var label in labels)
        {
            if (label.Name.Length > limits.MaxLabelNameLength)
            {
                return new EntryRejection(RejectionKind.Invalid, DiscardReason.LabelNameTooLong, $"stream '{labels}' has label name too long: '{label.Name}'");
            }

            if (label.Value.Length > limits.MaxLabelValueLength)
            {
                return new EntryRejection(RejectionKind.Invalid, DiscardReason.LabelValueTooLong, $"stream '{labels}' has label value too long: '{label.Value}'");
            }
        }

        return null;
    }
}
