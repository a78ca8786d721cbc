namespace Pipeline.Stages.Flow;

/// <summary>Options of the <c>sampling</c> stage (<see cref="SamplingStage"/>).</summary>
public sealed class SamplingStageOptions
{
    /// <summary>The default of <see cref="DropCounterReason"/>.</summary>
    public const string DefaultDropCounterReason = "sampling_stage";

    /// <summary><c>rate</c>: the fraction of entries kept, from 0.0 (none) to 1.0 (all).</summary>
    public double Rate { get; set; }

    /// <summary><c>drop_counter_reason</c>: the <c>reason</c> of the dropped metric (default <c>sampling_stage</c>).</summary>
    public string? DropCounterReason { get; set; }

    /// <summary>A seed for the random source, for reproducible sampling (tests); default: unseeded.</summary>
    public int? Seed { get; set; }
}
