using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Testing;

namespace Pipeline.Tests.Runtime;

public sealed class LogPipelineTests
{
    [Fact]
    public async Task Flow_SourceThroughStagesToSink_TransformsInOrder()
    {
        await using var harness = await PipelineHarness.StartAsync(p => p.Then(new UppercaseStage()).Then(new SuffixStage("!")));
        await harness.Source.WriteLinesAsync("a", "b", "c");

        var entries = await harness.DrainAsync();

        Assert.Equal(["A!", "B!", "C!"], entries.Select(e => e.Line));
        Assert.Equal(3, harness.Source.CommittedPosition);
    }

    [Fact]
    public async Task Flow_ManyChunks_PreservesOrderAndCommitsEverything()
    {
        await using var harness = await PipelineHarness.StartAsync(p => p.Then(new SuffixStage("")));
        const int Count = 5000;
        for (var i = 0; i < Count; i++)
        {
            await harness.Source.WriteAsync(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var entries = await harness.DrainAsync();

        Assert.Equal(Enumerable.Range(0, Count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), entries.Select(e => e.Line));
        await harness.Source.WaitForCommittedAsync(Count);
        Assert.Equal(Count, harness.Metrics.Sent("source"));
        Assert.Equal(Count, harness.Metrics.Received("sink"));
        Assert.Equal(Count, harness.Metrics.Sent("sink"));
    }

    [Fact]
    public async Task Drop_DroppedEntries_AreAcknowledgedAndCountedByReason()
    {
        await using var harness = await PipelineHarness.StartAsync(p => p.Then(new DropContainingStage("debug", "debug_line"), "drop-debug"));
        await harness.Source.WriteLinesAsync("info 1", "debug 2", "info 3", "debug 4");

        var entries = await harness.DrainAsync();

        Assert.Equal(["info 1", "info 3"], entries.Select(e => e.Line));
        Assert.Equal(4, harness.Source.CommittedPosition);
        Assert.Equal(2, harness.Metrics.Dropped("drop-debug", "debug_line"));
        Assert.Equal(4, harness.Metrics.Received("drop-debug"));
        Assert.Equal(2, harness.Metrics.Sent("drop-debug"));
    }

    [Fact]
    public async Task Drop_EveryEntryDropped_CommitsAndDeliversNothing()
    {
        await using var harness = await PipelineHarness.StartAsync(p => p.Then("drop-all", _ => StageResult.Drop("all")));
        await harness.Source.WriteLinesAsync("a", "b");

        var entries = await harness.DrainAsync();

        Assert.Empty(entries);
        Assert.Equal(2, harness.Source.CommittedPosition);
    }

    [Fact]
    public async Task StageThrows_ErrorCounted_EntryContinues()
    {
        await using var harness = await PipelineHarness.StartAsync(p => p.Then(new ThrowingStage("boom"), "fragile").Then(new SuffixStage(".")));
        await harness.Source.WriteLinesAsync("ok", "boom", "fine");

        var entries = await harness.DrainAsync();

        Assert.Equal(["ok.", "boom.", "fine."], entries.Select(e => e.Line));
        Assert.Equal(1, harness.Metrics.Errors("fragile"));
        Assert.Equal(3, harness.Source.CommittedPosition);
    }

    [Fact]
    public async Task FanOut_TwoSinks_BothReceiveEverything_CommitWaitsForBoth()
    {
        var source = new ManualSource();
        var fast = new CollectingSink();
        var slow = new CollectingSink(autoAcknowledge: false);
        await using var pipeline = LogPipeline.Create().From(source).To(fast, "fast").To(slow, "slow").Build();
        await pipeline.StartAsync();

        await source.WriteLinesAsync("1", "2", "3");
        await fast.WaitForCountAsync(3);
        await slow.WaitForCountAsync(3);
        Assert.Equal(0, source.CommittedPosition);

        Assert.Equal(3, slow.AcknowledgePending());
        await source.WaitForCommittedAsync(3);

        source.Complete();
        await pipeline.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["1", "2", "3"], fast.Lines);
        Assert.Equal(["1", "2", "3"], slow.Lines);
    }

    [Fact]
    public async Task NeverAcknowledgingSink_PositionsStayUncommitted_StopStillCompletes()
    {
        await using var harness = await PipelineHarness.StartAsync(autoAcknowledge: false);
        await harness.Source.WriteLinesAsync("a", "b");

        var entries = await harness.DrainAsync();

        Assert.Equal(2, entries.Count);
        Assert.Equal(0, harness.Source.CommittedPosition);
    }

    [Fact]
    public async Task RejectingSink_DefinitiveRejection_AcknowledgesAndCountsDropped()
    {
        var source = new ManualSource();
        var sink = new RejectingSink("status_400");
        await using var pipeline = LogPipeline.Create().From(source).To(sink, "loki").Build();
        using var metrics = new MetricsCapture(pipeline.Meter);
        await pipeline.StartAsync();

        await source.WriteLinesAsync("a", "b", "c");
        source.Complete();
        await pipeline.Completion.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(3, source.CommittedPosition);
        Assert.Equal(3, metrics.Dropped("loki", "status_400"));
    }

    [Fact]
    public async Task FailingSink_PipelineFaultsWithComponentName_AndDoesNotHang()
    {
        var source = new FloodSource(chunks: 1000);
        await using var pipeline = LogPipeline.Create(new PipelineOptions { ChannelCapacity = 1 })
            .From(source).Then(new SuffixStage("")).To(new FailingSink(), "broken").Build();
        await pipeline.StartAsync();

        var error = await Assert.ThrowsAsync<PipelineComponentException>(() => pipeline.Completion.WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal("broken", error.Component);
        Assert.IsType<InvalidOperationException>(error.InnerException);
        Assert.True(source.Emitted < 1000);
        await pipeline.StopAsync();
    }

    [Fact]
    public async Task Backpressure_SlowSink_SourceWaits_ThenEverythingArrives()
    {
        const int Chunks = 100;
        var source = new FloodSource(Chunks);
        using var sink = new GatedSink();
        await using var pipeline = LogPipeline.Create(new PipelineOptions { ChannelCapacity = 2 })
            .From(source).Then(new SuffixStage("")).To(sink).Build();
        await pipeline.StartAsync();

        await source.Blocked.WaitAsync(TimeSpan.FromSeconds(30));

        // Bounded by the channels between source and sink (merge, stages, dispatch, sink input: 2 each) plus the
        // chunk each loop holds; never anywhere near all 100 chunks.
        Assert.InRange(source.Emitted, 1, 12);
        Assert.Equal(0, sink.Collected.Count);

        sink.Open();
        await pipeline.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Chunks * EntryChunkPool.DefaultChunkCapacity, sink.Collected.Count);
    }

    [Fact]
    public async Task Stop_BeforeStart_IsSafeAndIdempotent()
    {
        var pipeline = LogPipeline.Create().From(new ManualSource()).To(new CollectingSink()).Build();

        await pipeline.StopAsync();
        await pipeline.StopAsync();
        await pipeline.DisposeAsync();

        Assert.True(pipeline.Completion.IsCompletedSuccessfully);
        await Assert.ThrowsAsync<InvalidOperationException>(() => pipeline.StartAsync());
    }

    [Fact]
    public async Task Start_Twice_Throws()
    {
        await using var pipeline = LogPipeline.Create().From(new ManualSource()).To(new CollectingSink()).Build();
        await pipeline.StartAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => pipeline.StartAsync());
    }

    [Fact]
    public async Task Stop_Graceful_DeliversEverythingTheSourceEmitted()
    {
        var source = new ManualSource();
        var sink = new CollectingSink();
        await using var pipeline = LogPipeline.Create().From(source, "source").Then(new SuffixStage("")).To(sink).Build();
        using var metrics = new MetricsCapture(pipeline.Meter);
        await pipeline.StartAsync();
        for (var i = 0; i < 600; i++)
        {
            await source.WriteAsync("line");
        }

        await sink.WaitForCountAsync(1);
        await pipeline.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);

        Assert.True(pipeline.Completion.IsCompletedSuccessfully);
        Assert.Equal(metrics.Sent("source"), sink.Count);
        Assert.Equal(sink.Count, source.CommittedPosition);
    }

    [Fact]
    public async Task Stop_HungSink_AbortsWhenTheDeadlinePasses()
    {
        var source = new ManualSource();
        await using var pipeline = LogPipeline.Create().From(source).To(new HungSink()).Build();
        await pipeline.StartAsync();
        await source.WriteLinesAsync("a");
        using var deadline = new CancellationTokenSource();
        await deadline.CancelAsync();

        await pipeline.StopAsync(deadline.Token);

        await pipeline.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, source.CommittedPosition);
    }

    [Fact]
    public async Task Branches_SourceOwnStages_ApplyOnlyToThatSource()
    {
        var pods = new ManualSource();
        var app = new ManualSource();
        var sink = new CollectingSink();
        await using var pipeline = LogPipeline.Create()
            .From(pods, s => s.Then(new SuffixStage(" [pod]")), "pods")
            .From(app, "app")
            .Then(new UppercaseStage())
            .To(sink)
            .Build();
        await pipeline.StartAsync();

        await pods.WriteLinesAsync("p1", "p2");
        await app.WriteLinesAsync("a1");
        pods.Complete();
        app.Complete();
        await pipeline.Completion.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(["A1", "P1 [POD]", "P2 [POD]"], sink.Lines.Order(StringComparer.Ordinal));
        Assert.Equal(2, pods.CommittedPosition);
        Assert.Equal(1, app.CommittedPosition);
    }

    [Fact]
    public async Task TaskStage_BetweenFunctionStages_CarriesChunks()
    {
        var task = new PassThroughTaskStage();
        await using var harness = await PipelineHarness.StartAsync(p => p.Then(new UppercaseStage()).Then(task, "task").Then(new SuffixStage("!")));
        await harness.Source.WriteLinesAsync("x", "y");

        var entries = await harness.DrainAsync();

        Assert.Equal(["X!", "Y!"], entries.Select(e => e.Line));
        Assert.True(task.Chunks >= 1);
        Assert.Equal(2, harness.Metrics.Received("task"));
    }

    [Fact]
    public void Build_WithoutSourceOrSink_OrWithDuplicateNames_Throws()
    {
        var noSource = Assert.Throws<InvalidOperationException>(() => LogPipeline.Create().To(new CollectingSink()).Build());
        Assert.Contains("source", noSource.Message, StringComparison.Ordinal);

        var noSink = Assert.Throws<InvalidOperationException>(() => LogPipeline.Create().From(new ManualSource()).Build());
        Assert.Contains("sink", noSink.Message, StringComparison.Ordinal);

        var duplicate = Assert.Throws<InvalidOperationException>(() =>
            LogPipeline.Create().From(new ManualSource(), "x").To(new CollectingSink(), "x").Build());
        Assert.Contains("'x'", duplicate.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_InvalidOptions_NameTheOption()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            LogPipeline.Create(new PipelineOptions { ChannelCapacity = 0 }).From(new ManualSource()).To(new CollectingSink()).Build());

        Assert.Equal("ChannelCapacity", error.ParamName);
    }

    [Fact]
    public async Task DefaultNames_RepeatedTypes_AreNumbered()
    {
        await using var harness = await PipelineHarness.StartAsync(p => p.Then(new SuffixStage("a")).Then(new SuffixStage("b")));
        await harness.Source.WriteLinesAsync("x");

        await harness.DrainAsync();

        Assert.Equal(1, harness.Metrics.Received("SuffixStage"));
        Assert.Equal(1, harness.Metrics.Received("SuffixStage#2"));
    }

    [Fact]
    public async Task DrainAware_Source_SeesEveryAcknowledgementAfterSinksFinish()
    {
        var source = new DrainRecordingSource(entries: 10);
        using var sink = new GatedSink();
        await using var pipeline = LogPipeline.Create().From(source).To(sink).Build();
        await pipeline.StartAsync();

        sink.Open();
        await pipeline.Completion.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(10, source.CommittedAtDrain);
    }

    [Fact]
    public void Absorb_EntryLeavesFlow_NotCountedAsDropped_NotAcknowledged()
    {
        using var tester = new StageTester(new AbsorbingStage());

        var outcome = tester.Process("held");

        Assert.False(outcome.Kept);
        Assert.Null(outcome.DropReason);
        Assert.False(outcome.Acknowledged);
        Assert.Equal(0, tester.Metrics.Dropped("AbsorbingStage"));
        Assert.Equal(1, tester.Metrics.Received("AbsorbingStage"));
        Assert.Equal(0, tester.Metrics.Sent("AbsorbingStage"));
    }

    private sealed class AbsorbingStage : ILogStage
    {
        public StageResult Process(LogEntry entry) => StageResult.Absorb;
    }
}
