namespace Pipeline.Runtime;

/// <summary>
/// Assembles a <see cref="LogPipeline"/> in the order data flows:
/// <c>LogPipeline.Create().From(source).Then(stage).To(sink).Build()</c>.
/// </summary>
/// <remarks>
/// Several <see cref="From(ILogSource, string?)"/> calls merge their sources into the main chain; a source may
/// have stages of its own (Promtail's per-scrape-config pipeline) with <see cref="From(ILogSource, Action{StageChain}, string?)"/>.
/// Several <see cref="To"/> calls fan every entry out to every sink; an entry counts as delivered when all have it.
/// </remarks>
public sealed class LogPipelineBuilder
{
    private readonly PipelineOptions _options;
    private readonly List<SourceSpec> _sources = [];
    private readonly StageChain _main = new();
    private readonly List<ComponentSpec> _sinks = [];

    internal LogPipelineBuilder(PipelineOptions options) => _options = options;

    /// <summary>Adds a source whose entries go straight into the main chain of stages.</summary>
    /// <param name="source">The source.</param>
    /// <param name="name">A unique component name for metrics and logs; defaults to the type name.</param>
    /// <returns>This builder.</returns>
    public LogPipelineBuilder From(ILogSource source, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _sources.Add(new SourceSpec(new ComponentSpec(source, name), new StageChain()));
        return this;
    }

    /// <summary>Adds a source with stages of its own, which run before its entries join the main chain.</summary>
    /// <param name="source">The source.</param>
    /// <param name="stages">Adds the source's own stages.</param>
    /// <param name="name">A unique component name for metrics and logs; defaults to the type name.</param>
    /// <returns>This builder.</returns>
    public LogPipelineBuilder From(ILogSource source, Action<StageChain> stages, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(stages);
        var chain = new StageChain();
        stages(chain);
        _sources.Add(new SourceSpec(new ComponentSpec(source, name), chain));
        return this;
    }

    /// <summary>Adds a function stage to the main chain (fused with its function-stage neighbours).</summary>
    /// <param name="stage">The stage.</param>
    /// <param name="name">A unique component name; defaults to the type name.</param>
    /// <returns>This builder.</returns>
    public LogPipelineBuilder Then(ILogStage stage, string? name = null)
    {
        _main.Then(stage, name);
        return this;
    }

    /// <summary>Adds a task stage to the main chain (connected by bounded channels).</summary>
    /// <param name="stage">The stage.</param>
    /// <param name="name">A unique component name; defaults to the type name.</param>
    /// <returns>This builder.</returns>
    public LogPipelineBuilder Then(ITaskStage stage, string? name = null)
    {
        _main.Then(stage, name);
        return this;
    }

    /// <summary>Adds a function stage written as a delegate, e.g. <c>.Then("uppercase", e => ...)</c>.</summary>
    /// <param name="name">A unique component name.</param>
    /// <param name="process">The per-entry function.</param>
    /// <returns>This builder.</returns>
    public LogPipelineBuilder Then(string name, Func<Model.LogEntry, StageResult> process)
    {
        _main.Then(name, process);
        return this;
    }

    /// <summary>Adds a sink; with several sinks, every entry goes to each.</summary>
    /// <param name="sink">The sink.</param>
    /// <param name="name">A unique component name; defaults to the type name.</param>
    /// <returns>This builder.</returns>
    public LogPipelineBuilder To(ILogSink sink, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        _sinks.Add(new ComponentSpec(sink, name));
        return this;
    }

    /// <summary>Checks the graph and the options and builds the pipeline (not yet started).</summary>
    /// <returns>The pipeline.</returns>
    /// <exception cref="InvalidOperationException">There is no source or no sink, or two components share a name.</exception>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    public LogPipeline Build()
    {
        _options.Validate();
        if (_sources.Count == 0)
        {
            throw new InvalidOperationException("A pipeline needs at least one source: call From(source) before Build().");
        }

        if (_sinks.Count == 0)
        {
            throw new InvalidOperationException("A pipeline needs at least one sink: call To(sink) before Build().");
        }

        var names = new ComponentNames();
        var sources = _sources.Select(s => new SourceSpec(names.Resolve(s.Source), s.Stages.Resolve(names))).ToArray();
        var main = _main.Resolve(names);
        var sinks = _sinks.Select(names.Resolve).ToArray();
        return new LogPipeline(_options, sources, main.Steps, sinks);
    }
}

/// <summary>An ordered list of stages: the main chain of a pipeline, or a source's own stages.</summary>
public sealed class StageChain
{
    internal StageChain()
    {
    }

    internal List<ComponentSpec> Steps { get; private set; } = [];

    /// <summary>Adds a function stage.</summary>
    /// <param name="stage">The stage.</param>
    /// <param name="name">A unique component name; defaults to the type name.</param>
    /// <returns>This chain.</returns>
    public StageChain Then(ILogStage stage, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(stage);
        Steps.Add(new ComponentSpec(stage, name));
        return this;
    }

    /// <summary>Adds a task stage.</summary>
    /// <param name="stage">The stage.</param>
    /// <param name="name">A unique component name; defaults to the type name.</param>
    /// <returns>This chain.</returns>
    public StageChain Then(ITaskStage stage, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(stage);
        Steps.Add(new ComponentSpec(stage, name));
        return this;
    }

    /// <summary>Adds a function stage written as a delegate.</summary>
    /// <param name="name">A unique component name.</param>
    /// <param name="process">The per-entry function.</param>
    /// <returns>This chain.</returns>
    public StageChain Then(string name, Func<Model.LogEntry, StageResult> process)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(process);
        Steps.Add(new ComponentSpec(new DelegateStage(process), name));
        return this;
    }

    internal StageChain Resolve(ComponentNames names) => new() { Steps = Steps.Select(names.Resolve).ToList() };

    private sealed class DelegateStage(Func<Model.LogEntry, StageResult> process) : ILogStage
    {
        public StageResult Process(Model.LogEntry entry) => process(entry);
    }
}

internal sealed record ComponentSpec(object Component, string? Name)
{
    public string ResolvedName => Name ?? throw new InvalidOperationException("Component name not resolved.");
}

internal sealed record SourceSpec(ComponentSpec Source, StageChain Stages);

/// <summary>Gives every component a unique name: the given one, or its type name with a number when repeated.</summary>
internal sealed class ComponentNames
{
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public ComponentSpec Resolve(ComponentSpec spec)
    {
        if (spec.Name is { } given)
        {
            if (!_used.Add(given))
            {
                throw new InvalidOperationException($"Two components are named '{given}'; component names must be unique in a pipeline.");
            }

            return spec;
        }

        var baseName = spec.Component.GetType().Name;
        var name = baseName;
        for (var n = 2; !_used.Add(name); n++)
        {
            name = $"{baseName}#{n}";
        }

        return spec with { Name = name };
    }
}
