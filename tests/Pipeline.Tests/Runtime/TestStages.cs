using System.Threading.Channels;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Tests.Runtime;

internal sealed class UppercaseStage : ILogStage
{
    public StageResult Process(LogEntry entry)
    {
        var line = entry.GetLineString().ToUpperInvariant();
        entry.SetLine(line.AsSpan());
        return StageResult.Keep;
    }
}

internal sealed class DropContainingStage(string text, string reason = "filtered") : ILogStage
{
    public StageResult Process(LogEntry entry) =>
        entry.GetLineString().Contains(text, StringComparison.Ordinal) ? StageResult.Drop(reason) : StageResult.Keep;
}

internal sealed class ThrowingStage(string trigger) : ILogStage
{
    public StageResult Process(LogEntry entry) =>
        entry.GetLineString() == trigger ? throw new FormatException("bad line") : StageResult.Keep;
}

internal sealed class SuffixStage(string suffix) : ILogStage
{
    public StageResult Process(LogEntry entry)
    {
        entry.AppendToLine(System.Text.Encoding.UTF8.GetBytes(suffix));
        return StageResult.Keep;
    }
}

/// <summary>A task stage that passes chunks on unchanged and counts them.</summary>
internal sealed class PassThroughTaskStage : ITaskStage
{
    public int Chunks { get; private set; }

    public async Task RunAsync(ChannelReader<EntryChunk> input, ChannelWriter<EntryChunk> output, ComponentContext context, CancellationToken cancellationToken)
    {
        await foreach (var chunk in input.ReadAllAsync(cancellationToken))
        {
            Chunks++;
            context.Metrics.AddReceived(chunk.Count);
            await output.WriteAsync(chunk, cancellationToken);
        }
    }
}

/// <summary>A sink that ignores input completion and returns only when aborted: a hung client.</summary>
internal sealed class HungSink : ILogSink
{
    public async Task RunAsync(ChannelReader<EntryChunk> input, ComponentContext context, CancellationToken cancellationToken)
    {
        await new TaskCompletionSource().Task.WaitAsync(cancellationToken);
    }
}

/// <summary>Emits one chunk at a time and signals when an emit has to wait (downstream full).</summary>
internal sealed class FloodSource(int chunks) : ILogSource
{
    private readonly TaskCompletionSource _blocked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _emitted;

    public int Emitted => Volatile.Read(ref _emitted);

    public Task Blocked => _blocked.Task;

    public async Task RunAsync(SourceContext context, CancellationToken cancellationToken)
    {
        var tracker = context.CreateAckTracker();
        long position = 0;
        for (var c = 0; c < chunks; c++)
        {
            var chunk = context.Chunks.Rent();
            while (!chunk.IsFull)
            {
                var entry = chunk.Add();
                entry.SetLine("x"u8);
                entry.Ack = tracker.Track(++position);
            }

            var emit = context.EmitAsync(chunk, cancellationToken);
            if (!emit.IsCompleted)
            {
                _blocked.TrySetResult();
            }

            await emit;
            Interlocked.Increment(ref _emitted);
        }
    }
}

/// <summary>Emits a few entries, then records the committed position the runtime lets it see once drained.</summary>
internal sealed class DrainRecordingSource(int entries) : ILogSource, IDrainAware
{
    private AckTracker? _tracker;

    public long? CommittedAtDrain { get; private set; }

    public async Task RunAsync(SourceContext context, CancellationToken cancellationToken)
    {
        _tracker = context.CreateAckTracker();
        var chunk = context.Chunks.Rent();
        for (var i = 1; i <= entries; i++)
        {
            var entry = chunk.Add();
            entry.SetLine("x"u8);
            entry.Ack = _tracker.Track(i);
        }

        await context.EmitAsync(chunk, cancellationToken);
    }

    public Task OnDrainedAsync(CancellationToken cancellationToken)
    {
        CommittedAtDrain = _tracker?.CommittedPosition;
        return Task.CompletedTask;
    }
}
