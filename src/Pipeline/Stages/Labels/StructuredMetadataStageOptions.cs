namespace Pipeline.Stages.Labels;

/// <summary>Options of the <c>structured_metadata</c> stage (<see cref="StructuredMetadataStage"/>).</summary>
public sealed class StructuredMetadataStageOptions
{
    /// <summary>Metadata name -> name of the extracted value (empty or <see langword="null"/>: the same name).</summary>
    public IDictionary<string, string?> Values { get; init; } = new Dictionary<string, string?>(StringComparer.Ordinal);
}
