using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Runtime;

namespace Pipeline.Hosting.Config;

/// <summary>What a stage factory may use while building a stage from configuration.</summary>
public sealed class StageBuildContext
{
    /// <summary>The clock stages should use.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Where stages may log.</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    /// <summary>The registry building the stages (for stages that nest others, like <c>match</c>).</summary>
    public required StageRegistry Registry { get; init; }

    /// <summary>The default name prefix of <c>metrics</c> stage metrics (Promtail's is <c>promtail_custom_</c>).</summary>
    public string MetricsPrefix { get; init; } = DefaultMetricsPrefix;

    /// <summary>The default of <see cref="MetricsPrefix"/>.</summary>
    public const string DefaultMetricsPrefix = "pipeline_custom_";
}

/// <summary>
/// Maps <c>pipeline_stages</c> names to factories. The built-in stages are registered by
/// <see cref="CreateDefault"/>; a user registers their own stage class under a name of their choosing, and
/// that name then works in YAML exactly like a built-in one.
/// </summary>
public sealed class StageRegistry
{
    /// <summary>Promtail's stage names: a configuration naming one of these that is not registered gets "not supported yet".</summary>
    public static readonly IReadOnlyList<string> PromtailStageNames =
    [
        "cri", "docker", "regex", "json", "logfmt", "replace", "multiline", "pack", "template", "match", "timestamp", "output",
        "labels", "labelallow", "labeldrop", "static_labels", "metrics", "tenant", "drop", "limit", "sampling",
        "eventlogmessage", "geoip", "structured_metadata", "decolorize", "luhn", "pattern",
    ];

    private readonly Dictionary<string, Func<ConfigNode, StageBuildContext, object>> _factories = new(StringComparer.Ordinal);

    /// <summary>A registry with the built-in stages.</summary>
    /// <returns>The registry.</returns>
    public static StageRegistry CreateDefault()
    {
        var registry = new StageRegistry();
        BuiltInStages.RegisterAll(registry);
        return registry;
    }

    /// <summary>A registry with no stages, for users who register only their own.</summary>
    /// <returns>The registry.</returns>
    public static StageRegistry CreateEmpty() => new();

    /// <summary>The registered names.</summary>
    public IEnumerable<string> Names => _factories.Keys;

    /// <summary>Registers a function stage factory under <paramref name="name"/> (replacing any earlier one).</summary>
    /// <param name="name">The key used in <c>pipeline_stages</c>.</param>
    /// <param name="factory">Builds the stage from its configuration node; throw <see cref="ConfigNode.Error"/> for invalid values.</param>
    /// <returns>This registry.</returns>
    public StageRegistry Register(string name, Func<ConfigNode, StageBuildContext, ILogStage> factory)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(factory);
        _factories[name] = factory;
        return this;
    }

    /// <summary>Registers a task stage factory under <paramref name="name"/> (replacing any earlier one).</summary>
    /// <param name="name">The key used in <c>pipeline_stages</c>.</param>
    /// <param name="factory">Builds the stage from its configuration node.</param>
    /// <returns>This registry.</returns>
    public StageRegistry Register(string name, Func<ConfigNode, StageBuildContext, ITaskStage> factory)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(factory);
        _factories[name] = factory;
        return this;
    }

    /// <summary>Whether <paramref name="name"/> is registered.</summary>
    /// <param name="name">The stage name.</param>
    /// <returns><see langword="true"/> when registered.</returns>
    public bool Contains(string name) => _factories.ContainsKey(name);

    /// <summary>Builds each stage of a <c>pipeline_stages</c> list and appends it to <paramref name="chain"/>.</summary>
    /// <param name="chain">Where the stages go.</param>
    /// <param name="stages">The list items (one-key mappings).</param>
    /// <param name="context">Clock and logging for the stages.</param>
    /// <param name="namePrefix">Prefix of the component names (e.g. the job name); components are named <c>prefix/stage[i]</c>.</param>
    /// <exception cref="ConfigException">An unknown or unsupported stage, or an invalid stage setting.</exception>
    public void AddTo(StageChain chain, IReadOnlyList<ConfigNode> stages, StageBuildContext context, string namePrefix)
    {
        ArgumentNullException.ThrowIfNull(chain);
        ArgumentNullException.ThrowIfNull(stages);
        for (var i = 0; i < stages.Count; i++)
        {
            var (name, body) = Single(stages[i]);
            var component = $"{namePrefix}/{name}[{i}]";
            switch (Build(name, body, context))
            {
                case ILogStage stage:
                    chain.Then(stage, component);
                    break;
                case ITaskStage task:
                    chain.Then(task, component);
                    break;
            }
        }
    }

    /// <summary>Builds one stage from its name and configuration body.</summary>
    /// <param name="name">The stage name.</param>
    /// <param name="body">Its settings.</param>
    /// <param name="context">Clock and logging.</param>
    /// <returns>An <see cref="ILogStage"/> or <see cref="ITaskStage"/>.</returns>
    /// <exception cref="ConfigException">An unknown or unsupported stage, or an invalid stage setting.</exception>
    public object Build(string name, ConfigNode body, StageBuildContext context)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (_factories.TryGetValue(name, out var factory))
        {
            var stage = factory(body, context);
            return stage is ILogStage or ITaskStage
                ? stage
                : throw body.Error($"the factory for '{name}' built a {stage?.GetType().Name ?? "null"}, which is not a stage");
        }

        if (PromtailStageNames.Contains(name))
        {
            throw body.Error($"not supported yet: {name}");
        }

        var known = string.Join(", ", PromtailStageNames.Where(Contains).Concat(_factories.Keys.Where(k => !PromtailStageNames.Contains(k))).Distinct());
        throw body.Error($"unknown stage '{name}'; known stages: {(known.Length == 0 ? "(none registered)" : known)}");
    }

    internal static (string Name, ConfigNode Body) Single(ConfigNode item)
    {
        var entries = item.Entries();
        if (entries.Count != 1)
        {
            throw item.Error("each pipeline stage is a mapping with exactly one key naming the stage, e.g. '- cri: {}'");
        }

        return (entries[0].Key, entries[0].Value);
    }
}
