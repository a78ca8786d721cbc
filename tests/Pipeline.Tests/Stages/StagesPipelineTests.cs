using Pipeline.Stages.Flow;
using Pipeline.Stages.Labels;
using Pipeline.Stages.Parsing;
using Pipeline.Testing;

namespace Pipeline.Tests.Stages;

/// <summary>The stages inside the real runtime: acknowledgements and positions end to end.</summary>
public class StagesPipelineTests
{
    [Fact]
    public async Task Cri_PartialPiecesInPipeline_CommitOnlyAfterJoinedEntryIsAcknowledged()
    {
        await using var harness = await PipelineHarness.StartAsync(p => p.Then(new CriParser(), "cri"), autoAcknowledge: false);

        await harness.Source.WriteLinesAsync(
            "2024-01-02T03:04:05Z stdout P part one, ",
            "2024-01-02T03:04:05Z stdout P part two, ",
            "2024-01-02T03:04:06Z stdout F the end");
        var entries = await harness.Sink.WaitForCountAsync(1);

        Assert.Equal("part one, part two, the end", entries[0].Line);
        Assert.Equal(0, harness.Source.CommittedPosition);
        Assert.Equal(1, harness.Sink.AcknowledgePending());
        await harness.Source.WaitForCommittedAsync(3);
    }

    [Fact]
    public async Task CriRegexLabelsLimitChain_InPipeline_LabelsEntries()
    {
        await using var harness = await PipelineHarness.StartAsync(p => p
            .Then(new CriParser(), "cri")
            .Then(new RegexStage(new RegexStageOptions { Expression = "^(?P<level>\\w+) " }), "regex")
            .Then(new LabelsStage(new LabelsStageOptions { Values = { ["level"] = null } }), "labels")
            .Then(new LimitStage(new LimitStageOptions { Rate = 1000, Burst = 1000 }), "limit")
            .Then(new DropStage(new DropStageOptions { Source = "level", Value = "debug" }), "drop"));

        await harness.Source.WriteLinesAsync(
            "2024-01-02T03:04:05Z stdout F info one",
            "2024-01-02T03:04:05Z stderr F debug two",
            "2024-01-02T03:04:05Z stderr F error three");
        var entries = await harness.DrainAsync();

        Assert.Equal(["info one", "error three"], entries.Select(e => e.Line));
        Assert.Equal("{job=\"test\", level=\"info\", stream=\"stdout\"}", entries[0].Labels.ToString());
        Assert.Equal("{job=\"test\", level=\"error\", stream=\"stderr\"}", entries[1].Labels.ToString());
        Assert.Equal(3, harness.Source.CommittedPosition);
    }
}
