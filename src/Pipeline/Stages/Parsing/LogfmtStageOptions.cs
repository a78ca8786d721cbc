namespace Pipeline.Stages.Parsing;

/// <summary>Options of the <c>logfmt</c> stage (<see cref="LogfmtStage"/>), named as in Promtail.</summary>
public sealed class LogfmtStageOptions
{
    /// <summary><c>mapping</c>: extracted name -> logfmt key (an empty key means the name itself).</summary>
    public IDictionary<string, string?> Mapping { get; init; } = new Dictionary<string, string?>(StringComparer.Ordinal);

    /// <summary><c>source</c>: the extracted value to parse instead of the line.</summary>
    public string? Source { get; set; }
}
