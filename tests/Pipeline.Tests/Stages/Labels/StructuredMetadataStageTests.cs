using Pipeline.Model;
using Pipeline.Stages;
using Pipeline.Stages.Labels;

namespace Pipeline.Tests.Stages.Labels;

public class StructuredMetadataStageTests
{
    [Fact]
    public void Process_CopiesExtractedValues()
    {
        var stage = new StructuredMetadataStage(new StructuredMetadataStageOptions { Values = { ["trace_id"] = "traceID", ["user"] = null, ["missing"] = null } });
        var entry = StageTest.Entry("x");
        entry.Extracted.Set("traceID", "abc123");
        entry.Extracted.Set("user", "bo");

        stage.Process(entry);

        Assert.Equal("abc123", entry.Metadata.Get("trace_id"));
        Assert.Equal("bo", entry.Metadata.Get("user"));
        Assert.False(entry.Metadata.Contains("missing"));
        Assert.Same(LabelSet.Empty, entry.Labels);
    }

    [Fact]
    public void Process_InvalidUtf8_Skipped()
    {
        var stage = new StructuredMetadataStage(new StructuredMetadataStageOptions { Values = { ["t"] = null } });
        var entry = StageTest.Entry("x");
        entry.Extracted.Set("t", [0xc3]);

        stage.Process(entry);

        Assert.Equal(0, entry.Metadata.Count);
    }
}
