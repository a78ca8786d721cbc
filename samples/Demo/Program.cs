using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using Pipeline.Model;
using Pipeline.Runtime;

// A small in-process pipeline: generated pod lines -> a filter and a label stage -> a counting console sink.
// Later the demo runs the whole stack (agent -> aggregator -> explore page) on one machine.
var lines = args.Length > 0 && long.TryParse(args[0], out var n) ? n : 2_000_000;

var source = new GeneratedSource(lines);
var sink = new ConsoleSummarySink(show: 5);
var pipeline = LogPipeline.Create(new PipelineOptions { Name = "demo" })
    .From(source, "generator")
    .Then("drop-debug", entry => entry.Line.IndexOf("level=debug"u8) >= 0 ? StageResult.Drop("debug") : StageResult.Keep)
    .Then("add-cluster", new StaticLabel("cluster", "demo").Process)
    .To(sink, "console")
    .Build();

var clock = Stopwatch.StartNew();
await pipeline.StartAsync();
await pipeline.Completion;
var seconds = clock.Elapsed.TotalSeconds;
Console.WriteLine($"{sink.Delivered:N0} of {lines:N0} lines delivered ({lines - sink.Delivered:N0} debug lines dropped) in {seconds:F2} s: " +
    $"{lines / seconds:N0} lines/s, {source.Bytes / seconds / 1e6:F1} MB/s");
Console.WriteLine($"committed position of the generator: {source.Committed:N0} (every line acknowledged)");

/// <summary>Emits numbered, kubelet-style lines, one tracked position per line.</summary>
internal sealed class GeneratedSource(long count) : ILogSource
{
    private static readonly string[] s_levels = ["info", "info", "warn", "debug", "error"];
    private AckTracker? _tracker;

    public long Bytes { get; private set; }

    public long Committed => _tracker?.CommittedPosition ?? 0;

    public async Task RunAsync(SourceContext context, CancellationToken cancellationToken)
    {
        _tracker = context.CreateAckTracker();
        var labels = LabelSet.Parse("{namespace=\"shop\", pod=\"checkout-7d9f\", container=\"api\", job=\"shop/api\"}");
        var text = new StringBuilder();
        var start = new DateTimeOffset(2026, 11, 26, 10, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000;
        for (long i = 0; i < count && !cancellationToken.IsCancellationRequested;)
        {
            var chunk = context.Chunks.Rent();
            while (!chunk.IsFull && i < count)
            {
                var entry = chunk.Add();
                text.Clear().Append("level=").Append(s_levels[i % s_levels.Length]).Append(" msg=\"request served\" n=").Append(i)
                    .Append(" path=/api/cart duration_ms=").Append(i % 250);
                entry.SetLine(text.ToString().AsSpan());
                entry.Timestamp = start + i;
                entry.Labels = labels;
                Bytes += entry.LineLength;
                entry.Ack = _tracker.Track(++i);
            }

            await context.EmitAsync(chunk, cancellationToken);
        }
    }
}

/// <summary>Adds one static label, reusing the resulting set for every line of the same stream.</summary>
internal sealed class StaticLabel(string name, string value)
{
    private LabelSet? _in;
    private LabelSet? _out;

    public StageResult Process(LogEntry entry)
    {
        if (!ReferenceEquals(entry.Labels, _in))
        {
            _in = entry.Labels;
            _out = entry.Labels.ToBuilder().Set(name, value).Build();
        }

        entry.Labels = _out!;
        return StageResult.Keep;
    }
}

/// <summary>Prints the first few entries, counts the rest, acknowledges everything.</summary>
internal sealed class ConsoleSummarySink(int show) : ILogSink
{
    public long Delivered { get; private set; }

    public async Task RunAsync(ChannelReader<EntryChunk> input, ComponentContext context, CancellationToken cancellationToken)
    {
        while (await input.WaitToReadAsync(cancellationToken))
        {
            while (input.TryRead(out var chunk))
            {
                foreach (var entry in chunk.Entries)
                {
                    if (Delivered++ < show)
                    {
                        Console.WriteLine($"{entry.Labels} {entry.GetLineString()}");
                    }
                }

                chunk.AcknowledgeAll();
                context.Metrics.AddSent(chunk.Count);
                chunk.Release();
            }
        }
    }
}
