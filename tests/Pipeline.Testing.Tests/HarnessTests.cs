using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Testing.Tests;

public sealed class HarnessTests
{
    private sealed class OlderThanStage : ILogStage, IContextAware
    {
        private TimeProvider _time = TimeProvider.System;

        public void Attach(ComponentContext context) => _time = context.TimeProvider;

        public StageResult Process(LogEntry entry)
        {
            var nowNs = _time.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000;
            return nowNs - entry.Timestamp > 60_000_000_000 ? StageResult.Drop("too_old") : StageResult.Keep;
        }
    }

    [Fact]
    public void StageTester_FakeTime_DrivesTimeDependentStages()
    {
        using var tester = new StageTester(new OlderThanStage());
        var stamp = tester.Time.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000;

        Assert.True(tester.Process("fresh", timestamp: stamp).Kept);
        tester.Time.Advance(TimeSpan.FromMinutes(2));
        var late = tester.Process("stale", timestamp: stamp);

        Assert.False(late.Kept);
        Assert.Equal("too_old", late.DropReason);
        Assert.True(late.Acknowledged);
        Assert.Equal(1, tester.Metrics.Dropped("OlderThanStage", "too_old"));
        Assert.Equal(2, tester.Metrics.Received("OlderThanStage"));
    }

    [Fact]
    public void StageTester_FillCallback_SetsMetadataAndExtracted()
    {
        using var tester = new StageTester(new PassStage());

        var outcome = tester.Process(e =>
        {
            e.SetLine("x"u8);
            e.Metadata.Set("trace_id", "abc".AsSpan());
            e.Extracted.Set("level", "warn"u8);
            e.Tenant = "team-a";
        });

        Assert.Equal("abc", outcome.Entry.Metadata["trace_id"]);
        Assert.Equal("warn", outcome.Entry.Extracted["level"]);
        Assert.Equal("team-a", outcome.Entry.Tenant);
    }

    [Fact]
    public async Task CollectingSink_WaitForCount_TimesOutWithClearMessage()
    {
        await using var harness = await PipelineHarness.StartAsync();
        await harness.Source.WriteLinesAsync("only one");

        var error = await Assert.ThrowsAsync<TimeoutException>(() => harness.Sink.WaitForCountAsync(2, TimeSpan.FromMilliseconds(200)));

        Assert.Contains("Expected 2 entries", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GatedSink_HoldsChunksUntilAllowed()
    {
        using var sink = new GatedSink();
        var source = new ManualSource();
        await using var pipeline = LogPipeline.Create().From(source).To(sink).Build();
        await pipeline.StartAsync();
        await source.WriteLinesAsync("a");

        sink.Allow();
        await sink.Collected.WaitForCountAsync(1);
        await source.WaitForCommittedAsync(1);
        source.Complete();
        await pipeline.Completion.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private sealed class PassStage : ILogStage
    {
        public StageResult Process(LogEntry entry) => StageResult.Keep;
    }
}
