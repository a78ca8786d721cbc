namespace Pipeline.Stages.Parsing;

/// <summary>Options of the <c>json</c> stage (<see cref="JsonStage"/>), named as in Promtail.</summary>
public sealed class JsonStageOptions
{
    /// <summary>
    /// <c>expressions</c>: extracted name -> expression. An empty expression means the name itself. Supported
    /// expressions (the JMESPath forms used in practice): <c>a</c>, <c>a.b</c>, <c>a[0]</c>, <c>a.b[2].c</c>, and quoted
    /// keys <c>"a.b"</c>, <c>a."b-c"</c> or <c>a["b c"]</c> (the path syntax LogQL's <c>| json</c> shares).
    /// </summary>
    public IDictionary<string, string?> Expressions { get; init; } = new Dictionary<string, string?>(StringComparer.Ordinal);

    /// <summary><c>source</c>: the extracted value to parse instead of the line.</summary>
    public string? Source { get; set; }

    /// <summary><c>drop_malformed</c>: drop lines that are not a JSON object.</summary>
    public bool DropMalformed { get; set; }
}
