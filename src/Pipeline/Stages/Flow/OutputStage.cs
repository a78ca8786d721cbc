using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Flow;

/// <summary>Promtail's <c>output</c> stage: the extracted value named by <c>source</c> becomes the line; when it is missing the line is unchanged.</summary>
public sealed class OutputStage : ILogStage
{
    private readonly string _source;

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">No source.</exception>
    public OutputStage(OutputStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        OptionNames.RequireSource(options.Source, "output");
        _source = options.Source!;
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public OutputStageOptions Options { get; }

    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Extracted.TryGetValue(_source, out var value))
        {
            entry.SetLine(value);
        }

        return StageResult.Keep;
    }
}
