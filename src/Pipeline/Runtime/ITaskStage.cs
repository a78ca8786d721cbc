using System.Threading.Channels;
using Pipeline.Model;

namespace Pipeline.Runtime;

/// <summary>
/// A stage that owns asynchronous work between two bounded channels of chunks (for example one that waits for
/// time to pass, like multiline's <c>max_wait_time</c>).
/// </summary>
/// <remarks>
/// Read until <c>input</c> completes, write what comes out, then return; the runtime completes
/// <c>output</c> (with the exception, if <see cref="RunAsync"/> throws). A chunk read is either written on or
/// released with <see cref="EntryChunk.Release"/>; an entry removed from the flow must have its
/// <see cref="LogEntry.Ack"/> completed, or its source will never commit past it.
/// </remarks>
public interface ITaskStage
{
    /// <summary>Runs the stage until its input completes.</summary>
    /// <param name="input">Chunks from upstream.</param>
    /// <param name="output">Chunks for downstream; writes wait when it is full.</param>
    /// <param name="context">Clock, logger, metrics and chunk pool.</param>
    /// <param name="cancellationToken">Signals that the pipeline is aborting.</param>
    /// <returns>A task that completes when the stage is done.</returns>
    Task RunAsync(ChannelReader<EntryChunk> input, ChannelWriter<EntryChunk> output, ComponentContext context, CancellationToken cancellationToken);
}
