namespace Pipeline.Stages.Parsing;

/// <summary>Options of the <c>docker</c> stage (<see cref="DockerParser"/>).</summary>
public sealed class DockerParserOptions
{
    /// <summary>
    /// <c>max_partial_lines</c>: how many streams may have pieces waiting to be joined at once; a piece of a further
    /// stream goes on unjoined. 0 means the default (100).
    /// </summary>
    public int MaxPartialLines { get; set; } = CriParserOptions.DefaultMaxPartialLines;

    /// <summary><c>max_partial_line_size</c>: the largest joined line in bytes (0 = unlimited); see <see cref="CriParserOptions.MaxPartialLineSize"/>.</summary>
    public long MaxPartialLineSize { get; set; } = CriParserOptions.DefaultMaxPartialLineSize;

    /// <summary><c>max_partial_line_size_truncate</c>: cut joined lines at <see cref="MaxPartialLineSize"/> instead of splitting them.</summary>
    public bool MaxPartialLineSizeTruncate { get; set; }
}
