using Pipeline.LogQL.Formatting;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Stages.Flow;

/// <summary>
/// Promtail's <c>decolorize</c> stage: removes ANSI escape sequences (colors and other CSI sequences such as
/// <c>ESC[31m</c>, <c>ESC[1;32m</c>, <c>ESC[0K</c>) from the line, in place, without allocating; the same decolorizer
/// as LogQL's <c>| decolorize</c>.
/// </summary>
public sealed class DecolorizeStage : ILogStage
{
    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!Decolorizer.MayHaveEscapes(entry.Line))
        {
            return StageResult.Keep;
        }

        // In place: the entry owns its line buffer and stages run before fan-out.
        entry.TruncateLine(Decolorizer.Strip(entry.WritableLine));
        return StageResult.Keep;
    }
}
