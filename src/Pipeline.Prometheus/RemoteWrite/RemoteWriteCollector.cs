using Pipeline.Prometheus.Exposition;

namespace Pipeline.Prometheus.RemoteWrite;

/// <summary>
/// Every <c>interval</c>, collects the instruments of a <see cref="PrometheusMetrics"/> (the pipeline's meters, the
/// resource source's, ...) and writes them to a <see cref="RemoteWriteSink"/> with the names a scrape would show:
/// counters as <c>x_total</c>, gauges as <c>x</c>, histograms as <c>x_bucket{le}</c>, <c>x_sum</c>, <c>x_count</c>.
/// </summary>
public sealed class RemoteWriteCollector : IAsyncDisposable
{
    private readonly PrometheusMetrics _metrics;
    private readonly RemoteWriteSink _sink;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _timeProvider;
    private readonly KeyValuePair<string, string>[] _externalLabels;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>Creates the collector; nothing runs before <see cref="StartAsync"/>.</summary>
    /// <param name="metrics">What to collect.</param>
    /// <param name="sink">Where to write (started and stopped by its owner).</param>
    /// <param name="interval">Time between collections.</param>
    /// <param name="externalLabels">Labels added to every series (like Prometheus' <c>external_labels</c>), e.g. <c>instance</c>.</param>
    /// <param name="timeProvider">The clock; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="interval"/> is not positive.</exception>
    public RemoteWriteCollector(
        PrometheusMetrics metrics,
        RemoteWriteSink sink,
        TimeSpan interval,
        IEnumerable<KeyValuePair<string, string>>? externalLabels = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _metrics = metrics;
        _sink = sink;
        _interval = interval;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _externalLabels = externalLabels?.ToArray() ?? [];
    }

    /// <summary>Starts collecting every interval, the first time now (idempotent).</summary>
    /// <param name="cancellationToken">Unused.</param>
    /// <returns>A completed task.</returns>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        _loop ??= Task.Run(RunAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Stops collecting (idempotent, safe before start).</summary>
    /// <returns>A task that completes when the loop has ended.</returns>
    public async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(false);
        }
    }

    /// <summary>Stops collecting.</summary>
    /// <returns>A task that completes when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    /// <summary>Collects once and writes every sample to the sink.</summary>
    /// <param name="cancellationToken">Stops waiting on a full sink.</param>
    /// <returns>How many samples were written.</returns>
    public async ValueTask<int> CollectOnceAsync(CancellationToken cancellationToken = default)
    {
        var samples = ToSamples(_metrics.Collect(), _externalLabels);
        foreach (var sample in samples)
        {
            await _sink.WriteAsync(sample, cancellationToken).ConfigureAwait(false);
        }

        return samples.Count;
    }

    internal static List<RemoteWriteSample> ToSamples(MetricsSnapshot snapshot, KeyValuePair<string, string>[] externalLabels)
    {
        var samples = new List<RemoteWriteSample>();
        var time = snapshot.TimestampUnixMs;
        foreach (var family in snapshot.Families)
        {
            foreach (var series in family.Series)
            {
                var labels = externalLabels.Length == 0 ? series.Labels : Merge(series.Labels, externalLabels);
                switch (family.Kind)
                {
                    case MetricKind.Counter:
                        samples.Add(new(family.Name + "_total", labels, series.Value, time));
                        break;
                    case MetricKind.Gauge:
                        samples.Add(new(family.Name, labels, series.Value, time));
                        break;
                    default:
                        var bounds = series.Bounds ?? [];
                        var counts = series.CumulativeCounts ?? [series.Count];
                        var bucket = family.Name + "_bucket";
                        for (var i = 0; i <= bounds.Length; i++)
                        {
                            var le = i < bounds.Length ? ExpositionWriter.FormatValue(bounds[i]) : "+Inf";
                            KeyValuePair<string, string>[] withLe = [.. labels, new("le", le)];
                            samples.Add(new(bucket, withLe, i < bounds.Length ? counts[i] : series.Count, time));
                        }

                        samples.Add(new(family.Name + "_sum", labels, series.Sum, time));
                        samples.Add(new(family.Name + "_count", labels, series.Count, time));
                        break;
                }
            }
        }

        return samples;
    }

    private static KeyValuePair<string, string>[] Merge(KeyValuePair<string, string>[] labels, KeyValuePair<string, string>[] external)
    {
        // The series' own label wins over an external one of the same name (as in Prometheus).
        var merged = new List<KeyValuePair<string, string>>(labels);
        foreach (var label in external)
        {
            if (!labels.Any(l => l.Key == label.Key))
            {
                merged.Add(label);
            }
        }

        return [.. merged];
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await CollectOnceAsync(token).ConfigureAwait(false);
                await Task.Delay(_interval, _timeProvider, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (InvalidOperationException)
            {
                // The sink or the metrics were stopped under us: nothing more to do.
                return;
            }
        }
    }
}
