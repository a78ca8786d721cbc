namespace Pipeline.Stages.Parsing;

/// <summary>Options of the <c>multiline</c> stage (<see cref="MultilineStage"/>), named as in Promtail.</summary>
public sealed class MultilineStageOptions
{
    /// <summary>The default of <see cref="MaxWaitTime"/> (Promtail's).</summary>
    public static readonly TimeSpan DefaultMaxWaitTime = TimeSpan.FromSeconds(3);

    /// <summary>The default of <see cref="MaxLines"/> (Promtail's).</summary>
    public const int DefaultMaxLines = 128;

    /// <summary><c>firstline</c>: a regex (RE2) matching the first line of a block (required).</summary>
    public string? Firstline { get; set; }

    /// <summary><c>max_wait_time</c>: how long a block waits for more lines before it is sent (default 3 s).</summary>
    public TimeSpan? MaxWaitTime { get; set; }

    /// <summary><c>max_lines</c>: the most lines in one block (default 128).</summary>
    public int? MaxLines { get; set; }
}
