using System.Threading.Channels;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Flow;

/// <summary>
/// Promtail's <c>limit</c> stage: a token bucket (<c>rate</c> lines per second, <c>burst</c> at once) on the pipeline's
/// clock, global or per value of <c>by_label_name</c>. With <c>drop: true</c> lines over the limit are dropped (counted
/// with reason <c>ratelimit_drop_stage</c>, acknowledged to their source); with <c>drop: false</c> the stage waits for
/// tokens, which holds back its input channel and so slows the source (backpressure) without losing lines.
/// </summary>
/// <remarks>A task stage: it waits on the clock, which a function stage must not do.</remarks>
public sealed class LimitStage : ITaskStage
{
    /// <summary>The drop reason.</summary>
    public const string DropReason = "ratelimit_drop_stage";

    private readonly double _rate;
    private readonly int _burst;
    private readonly bool _drop;
    private readonly string? _label;
    private readonly int _maxLabels;
    private readonly Dictionary<string, LinkedListNode<(string Key, TokenBucket Bucket)>> _byLabel = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Key, TokenBucket Bucket)> _recent = new();
    private TokenBucket? _global;

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">Rate or burst not positive, <c>by_label_name</c> without <c>drop</c>, or an invalid label name.</exception>
    public LimitStage(LimitStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (double.IsNaN(options.Rate) || options.Rate <= 0)
        {
            throw new StageOptionsException("limit", "rate", options.Rate, "lines per second above 0");
        }

        if (options.Burst <= 0)
        {
            throw new StageOptionsException("limit", "burst", options.Burst, "a number of lines above 0");
        }

        if (options.ByLabelName is not null)
        {
            OptionNames.RequireLabelName(options.ByLabelName, "limit", "by_label_name");
            if (!options.Drop)
            {
                throw new StageOptionsException("limit", "drop", false, "true when by_label_name is set (as in Promtail)");
            }
        }

        if (options.MaxDistinctLabels <= 0)
        {
            throw new StageOptionsException("limit", "max_distinct_labels", options.MaxDistinctLabels, "a number above 0");
        }

        _rate = options.Rate;
        _burst = options.Burst;
        _drop = options.Drop;
        _label = options.ByLabelName;
        _maxLabels = options.MaxDistinctLabels;
        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public LimitStageOptions Options { get; }

    /// <inheritdoc/>
    public async Task RunAsync(ChannelReader<EntryChunk> input, ChannelWriter<EntryChunk> output, ComponentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(context);
        var time = context.TimeProvider;
        bool[] keep = [];
        while (await input.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (input.TryRead(out var chunk))
            {
                try
                {
                    if (_drop)
                    {
                        if (keep.Length < chunk.Count)
                        {
                            keep = new bool[chunk.Capacity];
                        }

                        var dropped = 0;
                        var entries = chunk.Entries;
                        for (var i = 0; i < entries.Length; i++)
                        {
                            var bucket = BucketFor(entries[i], time);
                            keep[i] = bucket is null || bucket.TryTake();
                            if (!keep[i])
                            {
                                entries[i].Ack.Complete();
                                dropped++;
                            }
                        }

                        if (dropped > 0)
                        {
                            chunk.Compact(keep.AsSpan(0, chunk.Count));
                            context.Metrics.AddDropped(dropped, DropReason);
                        }
                    }
                    else
                    {
                        var bucket = _global ??= new TokenBucket(_rate, _burst, time);
                        for (var i = 0; i < chunk.Count; i++)
                        {
                            while (!bucket.TryTake())
                            {
                                await Task.Delay(bucket.TimeUntilAvailable(), time, cancellationToken).ConfigureAwait(false);
                            }
                        }
                    }

                    if (chunk.Count == 0)
                    {
                        chunk.Release();
                        continue;
                    }

                    await output.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Aborting: the entries stay unacknowledged, so their positions are not committed.
                    chunk.Release();
                    throw;
                }
            }
        }
    }

    private TokenBucket? BucketFor(LogEntry entry, TimeProvider time)
    {
        if (_label is null)
        {
            return _global ??= new TokenBucket(_rate, _burst, time);
        }

        if (!entry.Labels.TryGetValue(_label, out var value))
        {
            return null;
        }

        if (_byLabel.TryGetValue(value, out var node))
        {
            _recent.Remove(node);
            _recent.AddFirst(node);
            return node.Value.Bucket;
        }

        if (_byLabel.Count >= _maxLabels)
        {
            var oldest = _recent.Last!;
            _recent.RemoveLast();
            _byLabel.Remove(oldest.Value.Key);
        }

        var bucket = new TokenBucket(_rate, _burst, time);
        _byLabel[value] = _recent.AddFirst((value, bucket));
        return bucket;
    }
}
