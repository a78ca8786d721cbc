using Microsoft.Extensions.Logging;
using Pipeline.Diagnostics;
using Pipeline.Model;

namespace Pipeline.Runtime;

/// <summary>What the runtime gives every component: its name, the clock, a logger, its metrics and the chunk pool.</summary>
public class ComponentContext
{
    internal ComponentContext(string pipelineName, string name, TimeProvider timeProvider, ILogger logger, ComponentMetrics metrics, EntryChunkPool chunks)
    {
        PipelineName = pipelineName;
        Name = name;
        TimeProvider = timeProvider;
        Logger = logger;
        Metrics = metrics;
        Chunks = chunks;
    }

    /// <summary>The pipeline's name.</summary>
    public string PipelineName { get; }

    /// <summary>The component's name, unique in its pipeline (the <c>component</c> tag of its metrics).</summary>
    public string Name { get; }

    /// <summary>The clock: use it for every timer, delay and timestamp, so tests can fake time.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>The component's logger.</summary>
    public ILogger Logger { get; }

    /// <summary>The component's received / sent / dropped / errors counters.</summary>
    public ComponentMetrics Metrics { get; }

    /// <summary>The pool to rent chunks from.</summary>
    public EntryChunkPool Chunks { get; }
}
