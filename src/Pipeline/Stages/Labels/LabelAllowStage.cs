using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Labels;

/// <summary>
/// Promtail's <c>labelallow</c> stage: keeps only the listed labels (internal <c>__</c> labels included: they are
/// removed unless listed, as in Promtail). The result is cached per input label set.
/// </summary>
public sealed class LabelAllowStage : ILogStage
{
    private readonly HashSet<string> _names;
    private readonly LabelTransformCache _cache = new();

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">No names, or an invalid label name.</exception>
    public LabelAllowStage(LabelAllowStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Values is null || options.Values.Count == 0)
        {
            throw new StageOptionsException("labelallow", "values", null, "at least one label name");
        }

        foreach (var name in options.Values)
        {
            OptionNames.RequireLabelName(name, "labelallow", "values");
        }

        _names = new HashSet<string>(options.Values, StringComparer.Ordinal);
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public LabelAllowStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!_cache.TryGet(entry.Labels, out var output))
        {
            var builder = entry.Labels.ToBuilder();
            foreach (var label in entry.Labels)
            {
                if (!_names.Contains(label.Name))
                {
                    builder.Remove(label.Name);
                }
            }

            output = builder.Build();
            _cache.Add(entry.Labels, output);
        }

        entry.Labels = output!;
        return StageResult.Keep;
    }
}
