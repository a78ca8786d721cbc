using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pipeline.Diagnostics;
using Pipeline.Model;

namespace Pipeline.Runtime;

/// <summary>A source's context: how it hands chunks on and creates acknowledgement trackers.</summary>
public sealed class SourceContext : ComponentContext
{
    private readonly ChannelWriter<EntryChunk> _output;

    internal SourceContext(
        string pipelineName, string name, TimeProvider timeProvider, ILogger logger, ComponentMetrics metrics,
        EntryChunkPool chunks, ChannelWriter<EntryChunk> output, int requiredAcknowledgements, CancellationToken aborted)
        : base(pipelineName, name, timeProvider, logger, metrics, chunks)
    {
        _output = output;
        RequiredAcknowledgements = requiredAcknowledgements;
        Aborted = aborted;
    }

    /// <summary>
    /// Signals that the pipeline is aborting. A source that hands on what it buffered after being asked to stop
    /// (an in-app logger flushing at shutdown) emits with this token, so it waits while downstream drains but
    /// never past an abort.
    /// </summary>
    public CancellationToken Aborted { get; }

    /// <summary>How many sinks must acknowledge each entry before its position may be committed.</summary>
    public int RequiredAcknowledgements { get; }

    /// <summary>Creates a tracker for one target (for example one file) that needs every sink's acknowledgement.</summary>
    /// <param name="startPosition">The position already committed.</param>
    /// <returns>The tracker.</returns>
    public AckTracker CreateAckTracker(long startPosition = 0) => new(RequiredAcknowledgements, startPosition);

    /// <summary>
    /// Creates a tracker that carries <paramref name="state"/> for stages to read (<see cref="AckToken.SourceState"/>),
    /// e.g. one tracker per push request.
    /// </summary>
    /// <param name="startPosition">The position already committed.</param>
    /// <param name="state">What stages may read from the tracked entries' tokens.</param>
    /// <returns>The tracker.</returns>
    public AckTracker CreateAckTracker(long startPosition, object? state) => new(RequiredAcknowledgements, startPosition) { State = state };

    /// <summary>
    /// Hands a chunk downstream, waiting while downstream is full. Ownership passes with it; an empty chunk is
    /// released instead.
    /// </summary>
    /// <param name="chunk">The filled chunk.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the chunk is accepted.</returns>
    public async ValueTask EmitAsync(EntryChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (chunk.Count == 0)
        {
            chunk.Release();
            return;
        }

        var count = chunk.Count;
        await _output.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
        Metrics.AddSent(count);
    }
}
