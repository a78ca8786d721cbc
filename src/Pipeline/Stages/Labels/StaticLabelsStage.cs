using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Labels;

/// <summary>Promtail's <c>static_labels</c> stage: sets fixed labels. The result is cached per input label set.</summary>
public sealed class StaticLabelsStage : ILogStage
{
    private readonly KeyValuePair<string, string?>[] _values;
    private readonly LabelTransformCache _cache = new();

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">No labels, or an invalid label name.</exception>
    public StaticLabelsStage(StaticLabelsStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Values is null || options.Values.Count == 0)
        {
            throw new StageOptionsException("static_labels", "values", null, "at least one 'label: value' pair");
        }

        foreach (var name in options.Values.Keys)
        {
            OptionNames.RequireLabelName(name, "static_labels", "values");
        }

        _values = [.. options.Values];
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public StaticLabelsStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!_cache.TryGet(entry.Labels, out var output))
        {
            var builder = entry.Labels.ToBuilder();
            foreach (var (name, value) in _values)
            {
                builder.Set(name, value);
            }

            output = builder.Build();
            _cache.Add(entry.Labels, output);
        }

        entry.Labels = output!;
        return StageResult.Keep;
    }
}
