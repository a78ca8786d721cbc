namespace Pipeline.Stages.Labels;

/// <summary>Options of the <c>tenant</c> stage (<see cref="TenantStage"/>): exactly one of the three.</summary>
public sealed class TenantStageOptions
{
    /// <summary><c>source</c>: the extracted value holding the tenant id.</summary>
    public string? Source { get; set; }

    /// <summary><c>label</c>: the label holding the tenant id.</summary>
    public string? Label { get; set; }

    /// <summary><c>value</c>: a fixed tenant id.</summary>
    public string? Value { get; set; }
}
