namespace Pipeline.Stages.Labels;

/// <summary>Options of the <c>static_labels</c> stage (<see cref="StaticLabelsStage"/>): label name -> fixed value.</summary>
public sealed class StaticLabelsStageOptions
{
    /// <summary>Label name -> value; an empty or <see langword="null"/> value removes the label.</summary>
    public IDictionary<string, string?> Values { get; init; } = new Dictionary<string, string?>(StringComparer.Ordinal);
}
