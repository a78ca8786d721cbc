using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Pipeline.Diagnostics;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Stages;
using Pipeline.Stages.Flow;

namespace Pipeline.Tests.Stages.Flow;

public sealed class LimitStageTests : IDisposable
{
    private readonly Meter _meter = new("LimitStageTests." + Guid.NewGuid());
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly Channel<EntryChunk> _input = Channel.CreateBounded<EntryChunk>(4);
    private readonly Channel<EntryChunk> _output = Channel.CreateBounded<EntryChunk>(4);

    public void Dispose() => _meter.Dispose();

    private ComponentContext Context() =>
        new("p", "limit", _time, NullLogger.Instance, ComponentMetrics.Create(_meter, "p", "limit"), new EntryChunkPool(16));

    private int _position;

    private EntryChunk Chunk(AckTracker tracker, params string[] labelSets)
    {
        var chunk = new EntryChunk(16);
        for (var i = 0; i < labelSets.Length; i++)
        {
            var entry = chunk.Add();
            entry.Labels = StageTest.Labels(labelSets[i]);
            entry.SetLine([(byte)('a' + i)]);
            entry.Ack = tracker.Track(++_position);
        }

        return chunk;
    }

    [Fact]
    public async Task RunAsync_DropMode_DropsOverBurstAndAcknowledgesDropped()
    {
        var stage = new LimitStage(new LimitStageOptions { Rate = 1, Burst = 2, Drop = true });
        var tracker = new AckTracker();
        long dropped = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) => { if (i.Meter == _meter && i.Name == PipelineInstruments.Dropped) { l.EnableMeasurementEvents(i); } };
        listener.SetMeasurementEventCallback<long>((_, v, _, _) => Interlocked.Add(ref dropped, v));
        listener.Start();

        var run = stage.RunAsync(_input.Reader, _output.Writer, Context(), CancellationToken.None);
        await _input.Writer.WriteAsync(Chunk(tracker, "{}", "{}", "{}", "{}"));
        var first = await _output.Reader.ReadAsync();
        _time.Advance(TimeSpan.FromSeconds(1));
        await _input.Writer.WriteAsync(Chunk(tracker, "{}", "{}"));
        var second = await _output.Reader.ReadAsync();
        _input.Writer.Complete();
        await run;

        Assert.Equal(["a", "b"], first.Entries.ToArray().Select(e => e.GetLineString()));
        Assert.Equal(1, second.Count);
        Assert.Equal(3, Interlocked.Read(ref dropped));
        first.AcknowledgeAll();
        second.AcknowledgeAll();
        Assert.Equal(6, tracker.CommittedPosition); // dropped entries were completed, kept ones acknowledged
    }

    [Fact]
    public async Task RunAsync_ByLabel_LimitsEachValueAndPassesUnlabeled()
    {
        var stage = new LimitStage(new LimitStageOptions { Rate = 1, Burst = 1, Drop = true, ByLabelName = "app" });
        var tracker = new AckTracker();

        var run = stage.RunAsync(_input.Reader, _output.Writer, Context(), CancellationToken.None);
        await _input.Writer.WriteAsync(Chunk(tracker, "{app=\"a\"}", "{app=\"a\"}", "{app=\"b\"}", "{}", "{}"));
        var chunk = await _output.Reader.ReadAsync();
        _input.Writer.Complete();
        await run;

        Assert.Equal(["a", "c", "d", "e"], chunk.Entries.ToArray().Select(e => e.GetLineString()));
    }

    [Fact]
    public async Task RunAsync_WaitMode_HoldsChunkUntilTokensArrive()
    {
        var stage = new LimitStage(new LimitStageOptions { Rate = 1, Burst = 1 });
        var tracker = new AckTracker();
        var start = _time.GetUtcNow();

        var run = stage.RunAsync(_input.Reader, _output.Writer, Context(), CancellationToken.None);
        await _input.Writer.WriteAsync(Chunk(tracker, "{}", "{}", "{}"));

        EntryChunk? chunk = null;
        var wall = Stopwatch.StartNew();
        while (!_output.Reader.TryRead(out chunk))
        {
            Assert.True(wall.Elapsed < TimeSpan.FromSeconds(30), "the chunk never came out");
            Assert.True(_time.GetUtcNow() - start < TimeSpan.FromSeconds(10), "waited far longer than the rate needs");
            _time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Yield();
            Thread.Yield();
        }

        _input.Writer.Complete();
        await run;

        Assert.Equal(3, chunk!.Count);
        Assert.True(_time.GetUtcNow() - start >= TimeSpan.FromSeconds(2), "3 lines at 1/s with burst 1 need 2 s");
    }

    [Fact]
    public async Task RunAsync_Cancelled_WhileWaiting_ReleasesAndThrows()
    {
        var stage = new LimitStage(new LimitStageOptions { Rate = 0.001, Burst = 1 });
        using var cts = new CancellationTokenSource();
        var run = stage.RunAsync(_input.Reader, _output.Writer, Context(), cts.Token);
        await _input.Writer.WriteAsync(Chunk(new AckTracker(), "{}", "{}"));

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Theory]
    [InlineData(0, 1, true, null, "limit.rate")]
    [InlineData(1, 0, true, null, "limit.burst")]
    [InlineData(1, 1, false, "app", "limit.drop")]
    [InlineData(1, 1, true, "bad-label", "limit.by_label_name")]
    public void Constructor_Invalid_Throws(double rate, int burst, bool drop, string? label, string expected)
    {
        var ex = Assert.Throws<StageOptionsException>(() => new LimitStage(new LimitStageOptions { Rate = rate, Burst = burst, Drop = drop, ByLabelName = label }));
        Assert.Contains(expected, ex.Message);
    }
}
