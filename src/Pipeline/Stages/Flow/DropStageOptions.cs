namespace Pipeline.Stages.Flow;

/// <summary>Options of the <c>drop</c> stage (<see cref="DropStage"/>), named as in Promtail. Set conditions must all hold to drop.</summary>
public sealed class DropStageOptions
{
    /// <summary>The default of <see cref="DropCounterReason"/>.</summary>
    public const string DefaultDropCounterReason = "drop_stage";

    /// <summary><c>source</c>: an extracted value; alone, drops when it is present; with <see cref="Value"/> or <see cref="Expression"/>, is what they test.</summary>
    public string? Source { get; set; }

    /// <summary><c>value</c>: drop when <see cref="Source"/> equals this (exclusive with <see cref="Expression"/>; needs <see cref="Source"/>).</summary>
    public string? Value { get; set; }

    /// <summary><c>expression</c>: drop when this regex (RE2) matches <see cref="Source"/>, or the line when no source is set.</summary>
    public string? Expression { get; set; }

    /// <summary><c>older_than</c>: drop entries whose timestamp is more than this before now.</summary>
    public TimeSpan? OlderThan { get; set; }

    /// <summary><c>longer_than</c>: drop lines longer than this many bytes.</summary>
    public long? LongerThan { get; set; }

    /// <summary><c>drop_counter_reason</c>: the <c>reason</c> of the dropped metric (default <c>drop_stage</c>).</summary>
    public string? DropCounterReason { get; set; }

    /// <summary>The clock for <see cref="OlderThan"/> (default: the pipeline's, or the system clock).</summary>
    public TimeProvider? TimeProvider { get; set; }
}
