using Microsoft.Extensions.Logging;
using Pipeline.Diagnostics;
using Pipeline.Model;

namespace Pipeline.Runtime;

/// <summary>
/// Consecutive function stages run as one loop over each chunk: every entry goes through every stage in turn
/// with no channel hop in between. Dropped entries are completed (acknowledged) and compacted out of the chunk.
/// </summary>
internal sealed class FusedStages
{
    private readonly ILogStage[] _stages;
    private readonly ComponentContext[] _contexts;
    private readonly int[] _dropped;
    private readonly string?[] _dropReason;
    private readonly int[] _absorbed;
    private bool[] _keep = new bool[EntryChunkPool.DefaultChunkCapacity];

    public FusedStages(ILogStage[] stages, ComponentContext[] contexts)
    {
        _stages = stages;
        _contexts = contexts;
        _dropped = new int[stages.Length];
        _dropReason = new string?[stages.Length];
        _absorbed = new int[stages.Length];
    }

    public int Count => _stages.Length;

    /// <summary>The reason of the most recent drop (for the test harness).</summary>
    public string? LastDropReason { get; private set; }

    /// <summary>Runs every stage over every entry of <paramref name="chunk"/>, in place.</summary>
    public void Process(EntryChunk chunk)
    {
        var entries = chunk.Entries;
        if (_keep.Length < entries.Length)
        {
            _keep = new bool[entries.Length];
        }

        var keep = _keep;
        var stages = _stages;
        var anyDropped = false;
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = entries[i];
            keep[i] = true;
            for (var s = 0; s < stages.Length; s++)
            {
                StageResult result;
                try
                {
                    result = stages[s].Process(entry);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    StageFailed(s, ex);
                    continue;
                }

                if (result.Removes)
                {
                    keep[i] = false;
                    anyDropped = true;
                    if (result.IsDrop)
                    {
                        if (result.Rejection is { } rejection)
                        {
                            entry.Ack.Complete(rejection);
                        }
                        else
                        {
                            entry.Ack.Complete();
                        }

                        CountDrop(s, result.DropReason!);
                    }
                    else
                    {
                        _absorbed[s]++;
                    }

                    break;
                }
            }
        }

        var flowing = entries.Length;
        for (var s = 0; s < stages.Length; s++)
        {
            var metrics = _contexts[s].Metrics;
            metrics.AddReceived(flowing);
            if (_dropped[s] > 0)
            {
                metrics.AddDropped(_dropped[s], _dropReason[s]!);
                flowing -= _dropped[s];
                _dropped[s] = 0;
                _dropReason[s] = null;
            }

            flowing -= _absorbed[s];
            _absorbed[s] = 0;
            metrics.AddSent(flowing);
        }

        if (anyDropped)
        {
            chunk.Compact(keep);
        }
    }

    private void CountDrop(int stage, string reason)
    {
        // Aggregate per reason so a drop-heavy stage records one measurement per chunk, not one per entry.
        var current = _dropReason[stage];
        if (current is not null && !ReferenceEquals(current, reason) && !string.Equals(current, reason, StringComparison.Ordinal))
        {
            _contexts[stage].Metrics.AddDropped(_dropped[stage], current);
            _dropped[stage] = 0;
        }

        _dropReason[stage] = reason;
        _dropped[stage]++;
        LastDropReason = reason;
    }

    private void StageFailed(int stage, Exception exception)
    {
        var context = _contexts[stage];
        context.Metrics.AddErrors();
        PipelineLog.StageThrew(context.Logger, exception, context.PipelineName, context.Name);
    }
}
