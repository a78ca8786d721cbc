namespace Pipeline.Stages.Parsing;

/// <summary>Options of the <c>pattern</c> stage (<see cref="PatternStage"/>), named as in Grafana Alloy's <c>stage.pattern</c>.</summary>
public sealed class PatternStageOptions
{
    /// <summary><c>pattern</c>: Loki's pattern syntax, such as <c>&lt;ip&gt; - &lt;_&gt; [&lt;ts&gt;] "&lt;method&gt; &lt;path&gt; &lt;_&gt;"</c>.</summary>
    public string? Pattern { get; set; }

    /// <summary><c>source</c>: the extracted value to match instead of the line.</summary>
    public string? Source { get; set; }
}
