using System.Threading.Channels;
using Pipeline.Model;

namespace Pipeline.Runtime;

/// <summary>
/// Where entries go (a Loki push client, a store, the console). A sink reads chunks, delivers their entries,
/// and then acknowledges each entry (<see cref="LogEntry.Ack"/>) and releases each chunk.
/// </summary>
/// <remarks>
/// Acknowledge an entry once it is delivered (a 2xx) or definitively rejected (counted as dropped); never before.
/// An entry that is neither keeps its source from committing past it, which is what makes delivery
/// at-least-once. When <c>input</c> completes, flush what is buffered and return. Entries in
/// a chunk are shared with other sinks: read them, do not change them.
/// </remarks>
public interface ILogSink
{
    /// <summary>Runs the sink until its input completes.</summary>
    /// <param name="input">Chunks to deliver.</param>
    /// <param name="context">Clock, logger and metrics.</param>
    /// <param name="cancellationToken">Signals that the pipeline is aborting: stop retrying and return.</param>
    /// <returns>A task that completes when the sink is done.</returns>
    Task RunAsync(ChannelReader<EntryChunk> input, ComponentContext context, CancellationToken cancellationToken);
}
