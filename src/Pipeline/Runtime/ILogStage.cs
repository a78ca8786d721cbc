using Pipeline.Model;

namespace Pipeline.Runtime;

/// <summary>
/// A synchronous per-entry stage (parse, label, filter, template...). It transforms the entry in place and
/// keeps or drops it. The runtime fuses consecutive function stages into one loop over each chunk, with no
/// channel hop between them.
/// </summary>
/// <remarks>
/// <see cref="Process"/> is called from one thread at a time. It should not block or allocate per entry. An
/// exception is counted as an error of the stage and logged, and the entry continues unchanged by the
/// remaining work of this stage, so one bad line never stops the pipeline.
/// </remarks>
public interface ILogStage
{
    /// <summary>Processes one entry.</summary>
    /// <param name="entry">The entry; change it in place.</param>
    /// <returns><see cref="StageResult.Keep"/> or <see cref="StageResult.Drop"/>.</returns>
    StageResult Process(LogEntry entry);
}
