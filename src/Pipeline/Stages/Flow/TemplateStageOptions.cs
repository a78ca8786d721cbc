namespace Pipeline.Stages.Flow;

/// <summary>Options of the <c>template</c> stage (<see cref="TemplateStage"/>).</summary>
public sealed class TemplateStageOptions
{
    /// <summary><c>source</c>: the extracted value to write (and read as <c>.Value</c>); required.</summary>
    public string? Source { get; set; }

    /// <summary><c>template</c>: a Go template, such as <c>{{ .Value | ToUpper }}</c> or <c>{{ .level }}: {{ .Entry }}</c>.</summary>
    public string? Template { get; set; }
}
