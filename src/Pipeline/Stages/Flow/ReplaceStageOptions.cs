namespace Pipeline.Stages.Flow;

/// <summary>Options of the <c>replace</c> stage (<see cref="ReplaceStage"/>), named as in Promtail.</summary>
public sealed class ReplaceStageOptions
{
    /// <summary><c>expression</c>: a regular expression (RE2 syntax) whose capture groups are replaced (required).</summary>
    public string? Expression { get; set; }

    /// <summary><c>source</c>: the extracted value to change instead of the line.</summary>
    public string? Source { get; set; }

    /// <summary><c>replace</c>: a Go template for each captured text (<c>.Value</c> is the capture; extracted values are fields). Empty removes the captures.</summary>
    public string? Replace { get; set; }
}
