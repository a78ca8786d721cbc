namespace Pipeline.Stages.Flow;

/// <summary>Options of the <c>template</c> stage (<see cref="TemplateStage"/>).</summary>
public sealed class TemplateStageOptions
{
    /// <summary><c>source</c>: the extracted value to write (and read as <c>.Value</c>); required.</summary>
    public string? Source { get; set; }

    /// <summary>
    /// <c>template</c>: a Go template, such as <c>{{ .Value | ToUpper }}</c> or <c>{{ .level }}: {{ .Entry }}</c>: fields,
    /// literals, pipelines, <c>if</c>/<c>else if</c>/<c>else</c>, comments and <c>{{-</c>/<c>-}}</c> trimming; the
    /// functions are Go's builtins (<c>eq</c>, <c>ne</c>, <c>not</c>, <c>and</c>, <c>or</c>, <c>printf</c>), Promtail's
    /// (<c>ToUpper</c>, <c>ToLower</c>, <c>Replace</c>, <c>Trim</c>, <c>TrimLeft</c>, <c>TrimRight</c>, <c>TrimPrefix</c>,
    /// <c>TrimSuffix</c>, <c>TrimSpace</c>, <c>regexReplaceAll</c>, <c>regexReplaceAllLiteral</c>) and sprig's
    /// <c>upper</c>, <c>lower</c>, <c>title</c>, <c>trim</c>, <c>trimPrefix</c>, <c>trimSuffix</c>, <c>replace</c>,
    /// <c>contains</c>, <c>hasPrefix</c>, <c>hasSuffix</c> and <c>default</c>.
    /// </summary>
    public string? Template { get; set; }
}
