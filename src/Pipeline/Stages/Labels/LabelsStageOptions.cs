namespace Pipeline.Stages.Labels;

/// <summary>Options of the <c>labels</c> stage (<see cref="LabelsStage"/>): Promtail's map of label name -> extracted source.</summary>
public sealed class LabelsStageOptions
{
    /// <summary>Label name -> name of the extracted value (empty or <see langword="null"/>: the same name).</summary>
    public IDictionary<string, string?> Values { get; init; } = new Dictionary<string, string?>(StringComparer.Ordinal);
}
