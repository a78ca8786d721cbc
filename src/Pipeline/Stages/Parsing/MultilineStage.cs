using System.Text.RegularExpressions;
using System.Threading.Channels;
using Pipeline.LogQL.Re2;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages.Internal;

namespace Pipeline.Stages.Parsing;

/// <summary>
/// Promtail's <c>multiline</c> stage: per stream (label set), a line matching <c>firstline</c> starts a block and the
/// following lines are appended to it (joined with <c>\n</c>) until the next first line, <c>max_lines</c> lines, or
/// <c>max_wait_time</c> without a new line of that stream. The block keeps the first line's timestamp, labels,
/// tenant, metadata and extracted values; its acknowledgement token covers every line in it, so no source position is
/// committed until the whole block is delivered. Lines before any first line start a block of their own.
/// </summary>
/// <remarks>A task stage: it holds lines across chunks and waits on the pipeline's clock.</remarks>
public sealed class MultilineStage : ITaskStage
{
    private readonly Regex _firstline;
    private readonly TimeSpan _maxWait;
    private readonly int _maxLines;
    private readonly Utf16Scratch _scratch = new();
    private readonly List<Block> _blocks = [];
    private readonly Stack<LogEntry> _spare = new();

    /// <summary>Creates the stage.</summary>
    /// <param name="options">The options.</param>
    /// <exception cref="StageOptionsException">No or an invalid <c>firstline</c>, or a non-positive wait or line count.</exception>
    public MultilineStage(MultilineStageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _firstline = OptionRegex.Compile(options.Firstline, "multiline", "firstline");
        _maxWait = options.MaxWaitTime ?? MultilineStageOptions.DefaultMaxWaitTime;
        if (_maxWait <= TimeSpan.Zero)
        {
            throw new StageOptionsException("multiline", "max_wait_time", options.MaxWaitTime, "a positive duration (default 3s)");
        }

        _maxLines = options.MaxLines ?? MultilineStageOptions.DefaultMaxLines;
        if (_maxLines <= 0)
        {
            throw new StageOptionsException("multiline", "max_lines", options.MaxLines, "a number of lines above 0 (default 128)");
        }

        Options = options;
    }

    /// <summary>The options the stage was built with.</summary>
    public MultilineStageOptions Options { get; }

    /// <inheritdoc/>
    public async Task RunAsync(ChannelReader<EntryChunk> input, ChannelWriter<EntryChunk> output, ComponentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(context);
        var time = context.TimeProvider;
        EntryChunk? pending = null;
        Task<bool>? read = null;
        try
        {
            while (true)
            {
                read ??= input.WaitToReadAsync(cancellationToken).AsTask();
                if (_blocks.Count > 0 && !read.IsCompleted)
                {
                    var wait = NextDeadline() - time.GetTimestamp();
                    if (wait > 0)
                    {
                        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                        var delay = Task.Delay(TimeSpan.FromTicks(Math.Max(1, wait * TimeSpan.TicksPerSecond / time.TimestampFrequency)), time, timer.Token);
                        await Task.WhenAny(read, delay).ConfigureAwait(false);
                        await timer.CancelAsync().ConfigureAwait(false);
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    if (!read.IsCompleted)
                    {
                        pending = Flush(expiredOnly: true, time.GetTimestamp(), pending, context);
                        pending = await Emit(pending, output, cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                }

                if (!await read.ConfigureAwait(false))
                {
                    break;
                }

                read = null;
                while (input.TryRead(out var chunk))
                {
                    foreach (var entry in chunk.Entries)
                    {
                        pending = Add(entry, time.GetTimestamp(), pending, context);
                    }

                    // Every line now lives in a block (with its token): the chunk's entries are free to reuse.
                    chunk.Release();
                }

                pending = await Emit(pending, output, cancellationToken).ConfigureAwait(false);
            }

            pending = Flush(expiredOnly: false, 0, pending, context);
            await Emit(pending, output, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Aborting: held lines stay unacknowledged, so their positions are not committed.
            pending?.Release();
            while (_full.TryDequeue(out var full))
            {
                full.Release();
            }

            _blocks.Clear();
            throw;
        }
    }

    private EntryChunk? Add(LogEntry entry, long now, EntryChunk? pending, ComponentContext context)
    {
        var block = Find(entry.Labels);
        var first = IsFirstLine(entry.Line);
        if (block is not null && first)
        {
            pending = FlushBlock(block, pending, context);
            block = null;
        }

        if (block is null)
        {
            var held = _spare.Count > 0 ? _spare.Pop() : new LogEntry();
            entry.CopyTo(held);
            block = new Block(held);
            _blocks.Add(block);
        }
        else
        {
            block.Entry.AppendToLine("\n"u8);
            block.Entry.AppendToLine(entry.Line);
            block.Entry.Ack = AckToken.Merge(block.Entry.Ack, entry.Ack);
        }

        entry.Ack = AckToken.None;
        block.Lines++;
        block.Deadline = now + (long)(_maxWait.TotalSeconds * context.TimeProvider.TimestampFrequency);
        if (block.Lines >= _maxLines)
        {
            pending = FlushBlock(block, pending, context);
        }

        return pending;
    }

    private bool IsFirstLine(ReadOnlySpan<byte> line)
    {
        _scratch.Load(line);
        return _firstline.IsMatch(_scratch.Buffer.AsSpan(0, _scratch.Length));
    }

    private Block? Find(LabelSet labels)
    {
        foreach (var block in _blocks)
        {
            if (ReferenceEquals(block.Entry.Labels, labels) || block.Entry.Labels.Equals(labels))
            {
                return block;
            }
        }

        return null;
    }

    private long NextDeadline()
    {
        var next = long.MaxValue;
        foreach (var block in _blocks)
        {
            next = Math.Min(next, block.Deadline);
        }

        return next;
    }

    private EntryChunk? Flush(bool expiredOnly, long now, EntryChunk? pending, ComponentContext context)
    {
        for (var i = 0; i < _blocks.Count;)
        {
            if (!expiredOnly || _blocks[i].Deadline <= now)
            {
                pending = FlushBlock(_blocks[i], pending, context);
            }
            else
            {
                i++;
            }
        }

        return pending;
    }

    /// <summary>Moves a block into the output chunk (renting one when needed); a full chunk is queued in <see cref="_full"/>.</summary>
    private EntryChunk FlushBlock(Block block, EntryChunk? pending, ComponentContext context)
    {
        _blocks.Remove(block);
        if (pending is not null && pending.IsFull)
        {
            _full.Enqueue(pending);
            pending = null;
        }

        pending ??= context.Chunks.Rent();
        block.Entry.CopyTo(pending.Add());
        block.Entry.Ack = AckToken.None;
        _spare.Push(block.Entry);
        return pending;
    }

    private readonly Queue<EntryChunk> _full = new();

    private async ValueTask<EntryChunk?> Emit(EntryChunk? pending, ChannelWriter<EntryChunk> output, CancellationToken cancellationToken)
    {
        while (_full.TryDequeue(out var full))
        {
            await output.WriteAsync(full, cancellationToken).ConfigureAwait(false);
        }

        if (pending is { Count: > 0 })
        {
            await output.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        }

        return null;
    }

    private sealed class Block(LogEntry entry)
    {
        public LogEntry Entry { get; } = entry;

        public int Lines { get; set; }

        public long Deadline { get; set; }
    }
}
