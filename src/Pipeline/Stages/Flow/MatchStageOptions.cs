using Pipeline.Runtime;

namespace Pipeline.Stages.Flow;

/// <summary>Options of the <c>match</c> stage (<see cref="MatchStage"/>), named as in Promtail.</summary>
public sealed class MatchStageOptions
{
    /// <summary>The default of <see cref="DropCounterReason"/>.</summary>
    public const string DefaultDropCounterReason = "match_stage";

    /// <summary><c>selector</c>: a LogQL stream selector with optional line filters, such as <c>{app="api"} |= "error" !~ "health"</c> (required).</summary>
    public string? Selector { get; set; }

    /// <summary><c>action</c>: <c>keep</c> (default: run <see cref="Stages"/> on matching entries) or <c>drop</c> (drop matching entries).</summary>
    public string? Action { get; set; }

    /// <summary><c>drop_counter_reason</c>: the <c>reason</c> of the dropped metric with <c>action: drop</c> (default <c>match_stage</c>).</summary>
    public string? DropCounterReason { get; set; }

    /// <summary><c>pipeline_name</c>: a name for the nested stages (for diagnostics).</summary>
    public string? PipelineName { get; set; }

    /// <summary><c>stages</c>: the function stages run on matching entries with <c>action: keep</c>.</summary>
    public IList<ILogStage> Stages { get; init; } = [];
}
