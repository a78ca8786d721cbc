using System.Diagnostics.Metrics;
using System.Globalization;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Flow;

/// <summary>
/// Promtail's <c>metrics</c> stage: counters, gauges and histograms computed from extracted values (or, for a
/// counter with <c>match_all</c>, from every entry), tagged with the entry's labels (internal <c>__</c> labels left
/// out), recorded as <see cref="System.Diagnostics.Metrics"/> instruments so the pipeline's exporter serves them on
/// <c>/metrics</c>. Names get Promtail's <c>promtail_custom_</c> prefix unless another <c>prefix</c> is configured.
/// Entries always pass unchanged; a value that is not a number is skipped.
/// </summary>
public sealed class MetricsStage : ILogStage, IDisposable
{
    /// <summary>The name of the meter created when none is given.</summary>
    public const string DefaultMeterName = "Pipeline.CustomMetrics";

    private readonly Metric[] _metrics;
    private readonly Meter? _ownedMeter;
    private readonly Dictionary<ulong, (LabelSet Labels, KeyValuePair<string, object?>[] Tags)> _tags = [];

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">No metrics, or a metric has an invalid name, type, action or buckets.</exception>
    public MetricsStage(MetricsStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Metrics is null || options.Metrics.Count == 0)
        {
            throw new StageOptionsException("metrics", "metrics", null, "at least one metric");
        }

        var meter = options.Meter ?? (_ownedMeter = new Meter(DefaultMeterName));
        var metrics = new List<Metric>();
        foreach (var (name, definition) in options.Metrics)
        {
            metrics.Add(Metric.Create(name, definition ?? throw new StageOptionsException("metrics", name, null, "a metric definition"), meter));
        }

        _metrics = [.. metrics];
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public MetricsStageOptions Options { get; }

    /// <summary>The full metric names (prefix included), in configuration order.</summary>
    public IReadOnlyList<string> InstrumentNames => [.. _metrics.Select(m => m.FullName)];

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var tags = TagsFor(entry.Labels);
        foreach (var metric in _metrics)
        {
            metric.Record(entry, tags);
        }

        return StageResult.Keep;
    }

    /// <inheritdoc/>
    public void Dispose() => _ownedMeter?.Dispose();

    private ReadOnlySpan<KeyValuePair<string, object?>> TagsFor(LabelSet labels)
    {
        if (_tags.TryGetValue(labels.Fingerprint, out var cached) && (ReferenceEquals(cached.Labels, labels) || cached.Labels.Equals(labels)))
        {
            return cached.Tags;
        }

        if (_tags.Count >= 10_000)
        {
            _tags.Clear();
        }

        var list = new List<KeyValuePair<string, object?>>(labels.Count);
        foreach (var label in labels)
        {
            if (!label.IsInternal)
            {
                list.Add(new(label.Name, label.Value));
            }
        }

        var tags = list.ToArray();
        _tags[labels.Fingerprint] = (labels, tags);
        return tags;
    }

    private abstract class Metric
    {
        protected Metric(string fullName, MetricDefinition definition, string source)
        {
            FullName = fullName;
            Definition = definition;
            Source = source;
        }

        public string FullName { get; }

        protected MetricDefinition Definition { get; }

        protected string Source { get; }

        public static Metric Create(string name, MetricDefinition d, Meter meter)
        {
            var prefix = d.Prefix ?? MetricDefinition.DefaultPrefix;
            var fullName = prefix + name;
            if (!IsMetricName(fullName))
            {
                throw new StageOptionsException("metrics", name, fullName, "a Prometheus metric name [a-zA-Z_:][a-zA-Z0-9_:]* (prefix included)");
            }

            var source = string.IsNullOrEmpty(d.Source) ? name : d.Source;
            var type = d.Type?.ToLowerInvariant();
            var action = d.Action?.ToLowerInvariant();
            switch (type)
            {
                case "counter":
                    if (action is not ("inc" or "add"))
                    {
                        throw new StageOptionsException("metrics", name + ".config.action", d.Action, "inc or add for a Counter");
                    }

                    if (d.MatchAll && d.Value is not null)
                    {
                        throw new StageOptionsException("metrics", name + ".config.value", d.Value, "no value filter with match_all");
                    }

                    if (d.CountEntryBytes && !(d.MatchAll && action == "add"))
                    {
                        throw new StageOptionsException("metrics", name + ".config.count_entry_bytes", true, "match_all: true and action: add with count_entry_bytes");
                    }

                    return new CounterMetric(fullName, d, source, action, meter);
                case "gauge":
                    if (action is not ("set" or "inc" or "dec" or "add" or "sub"))
                    {
                        throw new StageOptionsException("metrics", name + ".config.action", d.Action, "set, inc, dec, add or sub for a Gauge");
                    }

                    return new GaugeMetric(fullName, d, source, action, meter);
                case "histogram":
                    if (d.Buckets is null || d.Buckets.Count == 0)
                    {
                        throw new StageOptionsException("metrics", name + ".config.buckets", null, "at least one bucket bound for a Histogram");
                    }

                    for (var i = 1; i < d.Buckets.Count; i++)
                    {
                        if (!(d.Buckets[i] > d.Buckets[i - 1]))
                        {
                            throw new StageOptionsException("metrics", name + ".config.buckets", string.Join(",", d.Buckets), "increasing bucket bounds");
                        }
                    }

                    return new HistogramMetric(fullName, d, source, meter);
                default:
                    throw new StageOptionsException("metrics", name + ".type", d.Type, "Counter, Gauge or Histogram");
            }
        }

        public abstract void Record(LogEntry entry, ReadOnlySpan<KeyValuePair<string, object?>> tags);

        /// <summary>The source value, when present and passing the value filter.</summary>
        protected bool TryGetSource(LogEntry entry, out ReadOnlySpan<byte> value)
        {
            if (!entry.Extracted.TryGetValue(Source, out value))
            {
                return false;
            }

            return Definition.Value is null || Utf8Text.EqualsString(value, Definition.Value);
        }

        protected static bool TryParse(ReadOnlySpan<byte> utf8, out double value) =>
            double.TryParse(utf8, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

        private static bool IsMetricName(string name)
        {
            if (name.Length == 0 || char.IsAsciiDigit(name[0]))
            {
                return false;
            }

            foreach (var c in name)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '_' && c != ':')
                {
                    return false;
                }
            }

            return true;
        }
    }

    private sealed class CounterMetric(string fullName, MetricDefinition d, string source, string action, Meter meter) : Metric(fullName, d, source)
    {
        private readonly Counter<double> _counter = meter.CreateCounter<double>(fullName, null, d.Description);

        public override void Record(LogEntry entry, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (Definition.MatchAll)
            {
                _counter.Add(Definition.CountEntryBytes ? entry.LineLength : 1, tags);
                return;
            }

            if (!TryGetSource(entry, out var value))
            {
                return;
            }

            if (action == "inc")
            {
                _counter.Add(1, tags);
            }
            else if (TryParse(value, out var amount) && amount >= 0)
            {
                _counter.Add(amount, tags);
            }
        }
    }

    private sealed class GaugeMetric(string fullName, MetricDefinition d, string source, string action, Meter meter) : Metric(fullName, d, source)
    {
        private readonly Gauge<double> _gauge = meter.CreateGauge<double>(fullName, null, d.Description);
        private readonly Dictionary<ulong, double> _values = [];

        public override void Record(LogEntry entry, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (!TryGetSource(entry, out var value))
            {
                return;
            }

            var series = entry.Labels.Fingerprint;
            _values.TryGetValue(series, out var current);
            double amount = 1;
            if (action is "set" or "add" or "sub" && !TryParse(value, out amount))
            {
                return;
            }

            current = action switch
            {
                "set" => amount,
                "inc" => current + 1,
                "dec" => current - 1,
                "add" => current + amount,
                _ => current - amount,
            };
            if (_values.Count >= 10_000 && !_values.ContainsKey(series))
            {
                _values.Clear();
            }

            _values[series] = current;
            _gauge.Record(current, tags);
        }
    }

    private sealed class HistogramMetric(string fullName, MetricDefinition d, string source, Meter meter) : Metric(fullName, d, source)
    {
        private readonly Histogram<double> _histogram = meter.CreateHistogram(
            fullName, null, d.Description, null, new InstrumentAdvice<double> { HistogramBucketBoundaries = [.. d.Buckets] });

        public override void Record(LogEntry entry, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (TryGetSource(entry, out var value) && TryParse(value, out var observed))
            {
                _histogram.Record(observed, tags);
            }
        }
    }
}
