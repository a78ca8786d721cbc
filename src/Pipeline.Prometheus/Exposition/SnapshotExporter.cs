using System.Globalization;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Pipeline.Prometheus.Exposition;

/// <summary>
/// A pull exporter: each <see cref="MetricReader.Collect"/> turns the SDK's aggregated points into a
/// <see cref="MetricsSnapshot"/> in Prometheus terms. Families with the same Prometheus name are merged;
/// a series whose labels repeat one already in the family, or whose type differs, is left out and counted.
/// (No <c>ExportModes(Pull)</c> attribute: the SDK's plain reader then never calls Export on Collect.)
/// </summary>
internal sealed class SnapshotExporter : BaseExporter<Metric>
{
    private readonly TimeProvider _timeProvider;
    private MetricsSnapshot? _latest;

    public SnapshotExporter(TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
    }

    /// <summary>Returns the snapshot of the last collection and forgets it.</summary>
    public MetricsSnapshot TakeLatest()
    {
        var latest = _latest ?? new MetricsSnapshot([], _timeProvider.GetUtcNow().ToUnixTimeMilliseconds(), 0);
        _latest = null;
        return latest;
    }

    public override ExportResult Export(in Batch<Metric> batch)
    {
        var families = new Dictionary<string, MetricFamily>(StringComparer.Ordinal);
        Dictionary<string, HashSet<string>>? seenByFamily = null;
        long dropped = 0;
        foreach (var metric in batch)
        {
            MetricKind kind;
            switch (metric.MetricType)
            {
                case MetricType.LongSum:
                case MetricType.DoubleSum:
                    kind = MetricKind.Counter;
                    break;
                case MetricType.LongGauge:
                case MetricType.DoubleGauge:
                case MetricType.LongSumNonMonotonic:
                case MetricType.DoubleSumNonMonotonic:
                    kind = MetricKind.Gauge;
                    break;
                case MetricType.Histogram:
                    kind = MetricKind.Histogram;
                    break;
                default:
                    dropped += CountPoints(metric);
                    continue;
            }

            var name = PrometheusNaming.GetFamilyName(metric.Name, metric.Unit, kind);
            HashSet<string>? seen = null;
            if (families.TryGetValue(name, out var family))
            {
                if (family.Kind != kind)
                {
                    dropped += CountPoints(metric);
                    continue;
                }

                // A second instrument maps to the same family (two meters, or names equal after sanitizing):
                // from here on every series is checked against the ones already there.
                seenByFamily ??= new(StringComparer.Ordinal);
                if (!seenByFamily.TryGetValue(name, out seen))
                {
                    seen = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var existing in family.Series)
                    {
                        seen.Add(LabelKey(existing.Labels));
                    }

                    seenByFamily[name] = seen;
                }
            }
            else
            {
                family = new MetricFamily(name, metric.Description ?? string.Empty, kind);
                families[name] = family;
            }

            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                var series = new MetricSeries(GetLabels(point));
                if (seen is not null && !seen.Add(LabelKey(series.Labels)))
                {
                    dropped++;
                    continue;
                }

                Fill(series, metric.MetricType, point);
                family.Series.Add(series);
            }
        }

        var sorted = new MetricFamily[families.Count];
        families.Values.CopyTo(sorted, 0);
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        _latest = new MetricsSnapshot(sorted, _timeProvider.GetUtcNow().ToUnixTimeMilliseconds(), dropped);
        return ExportResult.Success;
    }

    private static void Fill(MetricSeries series, MetricType type, in MetricPoint point)
    {
        switch (type)
        {
            case MetricType.LongSum:
            case MetricType.LongSumNonMonotonic:
                series.Value = point.GetSumLong();
                break;
            case MetricType.DoubleSum:
            case MetricType.DoubleSumNonMonotonic:
                series.Value = point.GetSumDouble();
                break;
            case MetricType.LongGauge:
                series.Value = point.GetGaugeLastValueLong();
                break;
            case MetricType.DoubleGauge:
                series.Value = point.GetGaugeLastValueDouble();
                break;
            case MetricType.Histogram:
                series.Sum = point.GetHistogramSum();
                series.Count = point.GetHistogramCount();
                var bounds = new List<double>();
                var counts = new List<long>();
                long cumulative = 0;
                foreach (var bucket in point.GetHistogramBuckets())
                {
                    cumulative += bucket.BucketCount;
                    if (!double.IsPositiveInfinity(bucket.ExplicitBound))
                    {
                        bounds.Add(bucket.ExplicitBound);
                        counts.Add(cumulative);
                    }
                }

                counts.Add(series.Count);
                series.Bounds = [.. bounds];
                series.CumulativeCounts = [.. counts];
                break;
        }
    }

    private static KeyValuePair<string, string>[] GetLabels(in MetricPoint point)
    {
        var tags = point.Tags;
        if (tags.Count == 0)
        {
            return [];
        }

        var labels = new List<KeyValuePair<string, string>>(tags.Count);
        foreach (var tag in tags)
        {
            var name = PrometheusNaming.SanitizeLabelName(tag.Key);
            var value = tag.Value switch
            {
                null => string.Empty,
                string s => s,
                bool b => b ? "true" : "false",
                _ => Convert.ToString(tag.Value, CultureInfo.InvariantCulture) ?? string.Empty,
            };
            labels.Add(new(name, value));
        }

        labels.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));

        // Two tag keys that sanitize to one label name: keep the first.
        for (var i = labels.Count - 1; i > 0; i--)
        {
            if (labels[i].Key == labels[i - 1].Key)
            {
                labels.RemoveAt(i);
            }
        }

        return [.. labels];
    }

    private static string LabelKey(KeyValuePair<string, string>[] labels) =>
        string.Join('\u0001', labels.Select(static l => l.Key + "\u0000" + l.Value));

    private static long CountPoints(Metric metric)
    {
        long count = 0;
        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            count++;
        }

        return count;
    }
}
