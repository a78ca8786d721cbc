namespace Pipeline.Stages.Labels;

/// <summary>Options of the <c>labelallow</c> stage (<see cref="LabelAllowStage"/>).</summary>
public sealed class LabelAllowStageOptions
{
    /// <summary>The names of the labels to keep; all others are removed.</summary>
    public IList<string> Values { get; init; } = [];
}
