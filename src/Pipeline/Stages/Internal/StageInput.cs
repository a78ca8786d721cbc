using Pipeline.Model;

namespace Pipeline.Stages.Internal;

/// <summary>What a parser reads: the extracted value named by its <c>source</c>, or the line when it has none (Promtail's rule).</summary>
internal static class StageInput
{
    /// <summary>The parser's input; <see langword="false"/> when the source value is absent (the stage then keeps the entry as it is).</summary>
    public static bool TryRead(LogEntry entry, string? source, out ReadOnlySpan<byte> input)
    {
        if (source is null)
        {
            input = entry.Line;
            return true;
        }

        return entry.Extracted.TryGetValue(source, out input);
    }
}
