namespace Pipeline.Stages.Flow;

/// <summary>Options of the <c>output</c> stage (<see cref="OutputStage"/>).</summary>
public sealed class OutputStageOptions
{
    /// <summary><c>source</c>: the extracted value that becomes the line (required).</summary>
    public string? Source { get; set; }
}
