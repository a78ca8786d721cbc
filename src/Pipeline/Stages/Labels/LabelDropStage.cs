using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Labels;

/// <summary>Promtail's <c>labeldrop</c> stage: removes the listed labels. The result is cached per input label set.</summary>
public sealed class LabelDropStage : ILogStage
{
    private readonly string[] _names;
    private readonly LabelTransformCache _cache = new();

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">No names, or an invalid label name.</exception>
    public LabelDropStage(LabelDropStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Values is null || options.Values.Count == 0)
        {
            throw new StageOptionsException("labeldrop", "values", null, "at least one label name");
        }

        foreach (var name in options.Values)
        {
            OptionNames.RequireLabelName(name, "labeldrop", "values");
        }

        _names = [.. options.Values];
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public LabelDropStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!_cache.TryGet(entry.Labels, out var output))
        {
            var builder = entry.Labels.ToBuilder();
            foreach (var name in _names)
            {
                builder.Remove(name);
            }

            output = builder.Build();
            _cache.Add(entry.Labels, output);
        }

        entry.Labels = output!;
        return StageResult.Keep;
    }
}
