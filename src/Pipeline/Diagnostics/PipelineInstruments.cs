using System.Diagnostics.Metrics;

namespace Pipeline.Diagnostics;

/// <summary>
/// The names of the instruments every pipeline component reports, as <see cref="System.Diagnostics.Metrics"/>
/// counters on the pipeline's <see cref="Meter"/>. Tags: <c>pipeline</c>, <c>component</c>, and <c>reason</c> on
/// <see cref="Dropped"/>. A Prometheus exporter shows them as e.g. <c>pipeline_component_received_total</c>.
/// </summary>
public static class PipelineInstruments
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "Pipeline";

    /// <summary>Entries a component took in.</summary>
    public const string Received = "pipeline.component.received";

    /// <summary>Entries a component passed on (a sink: delivered).</summary>
    public const string Sent = "pipeline.component.sent";

    /// <summary>Entries a component dropped, tagged with <c>reason</c>.</summary>
    public const string Dropped = "pipeline.component.dropped";

    /// <summary>Errors a component met (exceptions, failed requests).</summary>
    public const string Errors = "pipeline.component.errors";

    /// <summary>The tag holding the pipeline's name.</summary>
    public const string PipelineTag = "pipeline";

    /// <summary>The tag holding the component's name.</summary>
    public const string ComponentTag = "component";

    /// <summary>The tag holding a drop's reason.</summary>
    public const string ReasonTag = "reason";
}

/// <summary>The four counters of one pipeline, shared by its components.</summary>
internal sealed class PipelineCounters
{
    public PipelineCounters(Meter meter)
    {
        Received = meter.CreateCounter<long>(PipelineInstruments.Received, "{entry}", "Entries a component took in.");
        Sent = meter.CreateCounter<long>(PipelineInstruments.Sent, "{entry}", "Entries a component passed on or delivered.");
        Dropped = meter.CreateCounter<long>(PipelineInstruments.Dropped, "{entry}", "Entries a component dropped, by reason.");
        Errors = meter.CreateCounter<long>(PipelineInstruments.Errors, "{error}", "Errors a component met.");
    }

    public Counter<long> Received { get; }

    public Counter<long> Sent { get; }

    public Counter<long> Dropped { get; }

    public Counter<long> Errors { get; }
}
