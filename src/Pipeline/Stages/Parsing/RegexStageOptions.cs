namespace Pipeline.Stages.Parsing;

/// <summary>Options of the <c>regex</c> stage (<see cref="RegexStage"/>), named as in Promtail.</summary>
public sealed class RegexStageOptions
{
    /// <summary><c>expression</c>: the regular expression (RE2 syntax, <c>(?P&lt;name&gt;...)</c> accepted) with named groups.</summary>
    public string? Expression { get; set; }

    /// <summary><c>source</c>: the extracted value to match instead of the line.</summary>
    public string? Source { get; set; }
}
