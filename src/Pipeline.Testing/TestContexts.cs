using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Diagnostics;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Testing;

/// <summary>
/// Contexts for driving one component directly, outside a pipeline: a sink's or task stage's
/// <c>RunAsync</c> over a channel the test owns, or a function stage's <see cref="IContextAware.Attach"/>.
/// </summary>
public static class TestContexts
{
    /// <summary>The pipeline name used by these contexts.</summary>
    public const string PipelineName = "test";

    /// <summary>Creates a component context.</summary>
    /// <param name="name">The component name (the <c>component</c> metric tag).</param>
    /// <param name="timeProvider">The clock; the system clock when <see langword="null"/>.</param>
    /// <param name="meter">Where its counters go; a new meter when <see langword="null"/> (pass one to a <see cref="MetricsCapture"/>).</param>
    /// <param name="logger">Its logger; none when <see langword="null"/>.</param>
    /// <returns>The context.</returns>
    public static ComponentContext Component(string name, TimeProvider? timeProvider = null, Meter? meter = null, ILogger? logger = null)
    {
        meter ??= new Meter(PipelineInstruments.MeterName);
        return new ComponentContext(
            PipelineName, name, timeProvider ?? TimeProvider.System, logger ?? NullLogger.Instance,
            ComponentMetrics.Create(meter, PipelineName, name), EntryChunkPool.Shared);
    }
}
