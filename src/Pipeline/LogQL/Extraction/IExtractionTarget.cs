namespace Pipeline.LogQL.Extraction;

/// <summary>
/// Receives what an extractor finds in one input. The agent's stages write into the entry's extracted map (Promtail's
/// semantics), LogQL writes labels (sanitized names, <c>_extracted</c> on conflicts, first parsed value wins): each is
/// a struct implementing this, so extractors are specialized for it with no virtual call per value.
/// </summary>
internal interface IExtractionTarget
{
    /// <summary>A value for configured output <paramref name="output"/> (a path, a mapped key, a capture), as UTF-8.</summary>
    void Set(int output, ReadOnlySpan<byte> value);

    /// <summary>A value for configured output <paramref name="output"/>, as UTF-16 (regex captures).</summary>
    void Set(int output, ReadOnlySpan<char> value);

    /// <summary>A key found in the input and its value, for extractors that take every key (LogQL's <c>| json</c>, <c>| logfmt</c>, <c>| unpack</c>).</summary>
    void SetKey(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value);
}
