using System.Runtime.InteropServices;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Stages.Flow;

/// <summary>
/// Promtail's <c>decolorize</c> stage: removes ANSI escape sequences (colors and other CSI sequences such as
/// <c>ESC[31m</c>, <c>ESC[1;32m</c>, <c>ESC[0K</c>) from the line, in place, without allocating.
/// </summary>
public sealed class DecolorizeStage : ILogStage
{
    /// <inheritdoc/>
    public StageResult Process(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var line = entry.Line;
        var first = line.IndexOf((byte)0x1b);
        if (first < 0)
        {
            return StageResult.Keep;
        }

        // Compact in place (the result is never longer): the entry owns its line buffer and stages run before fan-out.
        var buffer = entry.WritableLine;
        var write = first;
        var read = first;
        while (read < buffer.Length)
        {
            var b = buffer[read];
            if (b == 0x1b && read + 1 < buffer.Length && buffer[read + 1] == '[')
            {
                var end = read + 2;
                while (end < buffer.Length && buffer[end] >= 0x20 && buffer[end] <= 0x3f)
                {
                    end++; // parameter and intermediate bytes
                }

                if (end < buffer.Length && buffer[end] >= 0x40 && buffer[end] <= 0x7e)
                {
                    read = end + 1;
                    continue;
                }
            }

            buffer[write++] = b;
            read++;
        }

        entry.TruncateLine(write);
        return StageResult.Keep;
    }
}
