namespace Pipeline.Stages.Parsing;

/// <summary>Options of the <c>cri</c> stage (<see cref="CriParser"/>), named as in Promtail.</summary>
public sealed class CriParserOptions
{
    /// <summary>The default of <see cref="MaxPartialLines"/> (Promtail's).</summary>
    public const int DefaultMaxPartialLines = 100;

    /// <summary>The default of <see cref="MaxPartialLineSize"/>: 256 KiB, Loki's default maximum line size.</summary>
    public const long DefaultMaxPartialLineSize = 256 * 1024;

    /// <summary>
    /// <c>max_partial_lines</c>: how many streams may have partial pieces waiting to be joined at once; a piece of a
    /// further stream goes on unjoined. 0 means the default.
    /// </summary>
    public int MaxPartialLines { get; set; } = DefaultMaxPartialLines;

    /// <summary>
    /// <c>max_partial_line_size</c>: the largest joined line, in bytes (0 = unlimited). When it is reached, the pieces
    /// joined so far go on as one entry (or, with <see cref="MaxPartialLineSizeTruncate"/>, the rest is cut off).
    /// </summary>
    /// <remarks>Promtail's default is unlimited; ours bounds memory at Loki's maximum line size.</remarks>
    public long MaxPartialLineSize { get; set; } = DefaultMaxPartialLineSize;

    /// <summary>
    /// Also extract <c>time</c>, <c>flags</c> and <c>content</c> as Promtail's regex-based stage does (ours always
    /// extracts <c>stream</c>). Off by default: the time is already the entry's timestamp and the content its line, and
    /// copying them costs about half of the stage's time. Not a Promtail option.
    /// </summary>
    public bool ExtractAllFields { get; set; }

    /// <summary><c>max_partial_line_size_truncate</c>: cut joined lines at <see cref="MaxPartialLineSize"/> instead of splitting them.</summary>
    public bool MaxPartialLineSizeTruncate { get; set; }
}
