using System.Diagnostics.Metrics;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Pipeline.Diagnostics;

namespace Pipeline.Testing;

/// <summary>
/// Records the four component counters (received, sent, dropped{reason}, errors) of one pipeline's
/// <see cref="Meter"/>, for assertions such as <c>Assert.Equal(3, metrics.Dropped("drop", "debug"))</c>.
/// Create it before the pipeline starts.
/// </summary>
public sealed class MetricsCapture : IDisposable
{
    private readonly MetricCollector<long> _received;
    private readonly MetricCollector<long> _sent;
    private readonly MetricCollector<long> _dropped;
    private readonly MetricCollector<long> _errors;

    /// <summary>Starts recording the pipeline counters published on <paramref name="meter"/>.</summary>
    /// <param name="meter">The pipeline's meter (<c>LogPipeline.Meter</c>).</param>
    public MetricsCapture(Meter meter)
    {
        _received = new MetricCollector<long>(meter, PipelineInstruments.Received);
        _sent = new MetricCollector<long>(meter, PipelineInstruments.Sent);
        _dropped = new MetricCollector<long>(meter, PipelineInstruments.Dropped);
        _errors = new MetricCollector<long>(meter, PipelineInstruments.Errors);
    }

    /// <summary>Entries the component took in.</summary>
    /// <param name="component">The component name.</param>
    /// <returns>The total.</returns>
    public long Received(string component) => Sum(_received, component, null);

    /// <summary>Entries the component passed on or delivered.</summary>
    /// <param name="component">The component name.</param>
    /// <returns>The total.</returns>
    public long Sent(string component) => Sum(_sent, component, null);

    /// <summary>Entries the component dropped, for one reason or all.</summary>
    /// <param name="component">The component name.</param>
    /// <param name="reason">The reason, or <see langword="null"/> for all.</param>
    /// <returns>The total.</returns>
    public long Dropped(string component, string? reason = null) => Sum(_dropped, component, reason);

    /// <summary>Errors the component counted.</summary>
    /// <param name="component">The component name.</param>
    /// <returns>The total.</returns>
    public long Errors(string component) => Sum(_errors, component, null);

    /// <inheritdoc/>
    public void Dispose()
    {
        _received.Dispose();
        _sent.Dispose();
        _dropped.Dispose();
        _errors.Dispose();
    }

    private static long Sum(MetricCollector<long> collector, string component, string? reason)
    {
        long total = 0;
        foreach (var measurement in collector.GetMeasurementSnapshot())
        {
            if (measurement.Tags.TryGetValue(PipelineInstruments.ComponentTag, out var c) && Equals(c, component)
                && (reason is null || (measurement.Tags.TryGetValue(PipelineInstruments.ReasonTag, out var r) && Equals(r, reason))))
            {
                total += measurement.Value;
            }
        }

        return total;
    }
}
