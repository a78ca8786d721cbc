using Pipeline.Model;

namespace Pipeline.Aggregator.Ingester;

/// <summary>A stream of a tenant in memory: its current chunk, closed chunks waiting to be indexed, the newest timestamp.</summary>
internal sealed class StreamState
{
    public StreamState(LabelSet labels, long flushedThroughSequence)
    {
        Labels = labels;
        FlushedThroughSequence = flushedThroughSequence;
    }

    public LabelSet Labels { get; }

    public OpenChunk? Current { get; set; }

    public List<OpenChunk> Closed { get; } = [];

    public long HighestTs { get; set; } = long.MinValue;

    public long FlushedThroughSequence { get; set; }

    public DateTimeOffset LastAppendAt { get; set; }

    /// <summary>The oldest WAL sequence whose entries are not yet flushed, or <see cref="long.MaxValue"/>.</summary>
    public long MinUnflushedSequence =>
        Closed.Count > 0 ? Closed[0].FirstSequence : Current?.FirstSequence ?? long.MaxValue;

    public bool IsEmpty => Current is null && Closed.Count == 0;
}
