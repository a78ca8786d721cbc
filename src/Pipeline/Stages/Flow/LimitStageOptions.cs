namespace Pipeline.Stages.Flow;

/// <summary>Options of the <c>limit</c> stage (<see cref="LimitStage"/>), named as in Promtail.</summary>
public sealed class LimitStageOptions
{
    /// <summary>The default of <see cref="MaxDistinctLabels"/> (Promtail's).</summary>
    public const int DefaultMaxDistinctLabels = 10_000;

    /// <summary><c>rate</c>: lines per second let through (the token refill rate).</summary>
    public double Rate { get; set; }

    /// <summary><c>burst</c>: lines let through at once after a quiet period (the bucket size).</summary>
    public int Burst { get; set; }

    /// <summary><c>drop</c>: true drops (and counts, reason <c>ratelimit_drop_stage</c>) lines over the limit; false waits, so backpressure slows the source.</summary>
    public bool Drop { get; set; }

    /// <summary><c>by_label_name</c>: limit each value of this label separately (lines without it are not limited); needs <see cref="Drop"/>.</summary>
    public string? ByLabelName { get; set; }

    /// <summary><c>max_distinct_labels</c>: how many label values are tracked with <see cref="ByLabelName"/> (least recently used ones are forgotten).</summary>
    public int MaxDistinctLabels { get; set; } = DefaultMaxDistinctLabels;
}
