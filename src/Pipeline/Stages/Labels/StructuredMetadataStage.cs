using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Labels;

/// <summary>
/// Promtail's <c>structured_metadata</c> stage: copies extracted values into the entry's structured metadata (Loki 3
/// per-entry metadata, which does not create streams). Missing sources and values that are not valid UTF-8 are
/// skipped. Copies bytes; allocates nothing per line.
/// </summary>
public sealed class StructuredMetadataStage : ILogStage
{
    private readonly (string Name, string Source)[] _map;

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">No values, or an invalid name.</exception>
    public StructuredMetadataStage(StructuredMetadataStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Values is null || options.Values.Count == 0)
        {
            throw new StageOptionsException("structured_metadata", "values", null, "at least one 'name: source' pair");
        }

        var map = new List<(string, string)>();
        foreach (var (name, source) in options.Values)
        {
            OptionNames.RequireLabelName(name, "structured_metadata", "values");
            map.Add((name, string.IsNullOrEmpty(source) ? name : source));
        }

        _map = [.. map];
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public StructuredMetadataStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        foreach (var (name, source) in _map)
        {
            if (entry.Extracted.TryGetValue(source, out var value) && Utf8Text.IsValid(value))
            {
                entry.Metadata.Set(name, value);
            }
        }

        return StageResult.Keep;
    }
}
