namespace Pipeline.Stages.Labels;

/// <summary>Options of the <c>labeldrop</c> stage (<see cref="LabelDropStage"/>).</summary>
public sealed class LabelDropStageOptions
{
    /// <summary>The names of the labels to remove.</summary>
    public IList<string> Values { get; init; } = [];
}
