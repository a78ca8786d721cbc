namespace Pipeline.Sources.Files;

/// <summary>What the file tail source does with a line longer than its maximum line size.</summary>
public enum OversizedLinePolicy
{
    /// <summary>Keep the first <c>MaxLineBytes</c> bytes of the line and skip the rest (counted).</summary>
    Truncate,

    /// <summary>Skip the whole line (counted as dropped with reason <c>line_too_long</c>).</summary>
    Drop,
}

/// <summary>What the file tail source does with a line that is not valid UTF-8.</summary>
public enum InvalidUtf8Policy
{
    /// <summary>Pass the bytes on unchanged (Promtail's behaviour; Loki replaces them when it decodes the push).</summary>
    PassThrough,

    /// <summary>Replace each invalid sequence with U+FFFD (the replacement character).</summary>
    Replace,
}
