using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Pipeline.Diagnostics;

/// <summary>
/// The received / sent / dropped{reason} / errors counters of one component (see <see cref="PipelineInstruments"/>).
/// Record per chunk or per batch rather than per entry where possible.
/// </summary>
public sealed class ComponentMetrics
{
    private readonly PipelineCounters _counters;
    private readonly KeyValuePair<string, object?>[] _tags;

    internal ComponentMetrics(PipelineCounters counters, string pipelineName, string componentName)
    {
        _counters = counters;
        PipelineName = pipelineName;
        ComponentName = componentName;
        _tags =
        [
            new(PipelineInstruments.PipelineTag, pipelineName),
            new(PipelineInstruments.ComponentTag, componentName),
        ];
    }

    /// <summary>Creates metrics on <paramref name="meter"/> for a component used outside a pipeline (e.g. a receiver).</summary>
    /// <param name="meter">The meter to create the counters on.</param>
    /// <param name="pipelineName">The <c>pipeline</c> tag.</param>
    /// <param name="componentName">The <c>component</c> tag.</param>
    /// <returns>The metrics.</returns>
    public static ComponentMetrics Create(Meter meter, string pipelineName, string componentName)
    {
        ArgumentNullException.ThrowIfNull(meter);
        return new ComponentMetrics(new PipelineCounters(meter), pipelineName, componentName);
    }

    /// <summary>The <c>pipeline</c> tag.</summary>
    public string PipelineName { get; }

    /// <summary>The <c>component</c> tag.</summary>
    public string ComponentName { get; }

    /// <summary>Counts entries taken in.</summary>
    /// <param name="count">How many.</param>
    public void AddReceived(long count)
    {
        if (count != 0)
        {
            _counters.Received.Add(count, _tags);
        }
    }

    /// <summary>Counts entries passed on or delivered.</summary>
    /// <param name="count">How many.</param>
    public void AddSent(long count)
    {
        if (count != 0)
        {
            _counters.Sent.Add(count, _tags);
        }
    }

    /// <summary>Counts dropped entries.</summary>
    /// <param name="count">How many.</param>
    /// <param name="reason">Why (a fixed string; it becomes the <c>reason</c> tag).</param>
    public void AddDropped(long count, string reason)
    {
        if (count != 0)
        {
            var tags = new TagList(_tags) { { PipelineInstruments.ReasonTag, reason } };
            _counters.Dropped.Add(count, tags);
        }
    }

    /// <summary>Counts errors.</summary>
    /// <param name="count">How many.</param>
    public void AddErrors(long count = 1)
    {
        if (count != 0)
        {
            _counters.Errors.Add(count, _tags);
        }
    }
}
