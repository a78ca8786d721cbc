using Pipeline.Stages;
using Pipeline.Stages.Flow;

namespace Pipeline.Tests.Stages.Flow;

public class OutputStageTests
{
    [Theory]
    [InlineData("msg", "the message")]
    [InlineData("missing", "original")]
    [InlineData("empty", "")]
    public void Process_SetsLineFromSource(string source, string expected)
    {
        var stage = new OutputStage(new OutputStageOptions { Source = source });
        var entry = StageTest.Entry("original");
        entry.Extracted.Set("msg", "the message");
        entry.Extracted.Set("empty", ""u8);

        stage.Process(entry);

        Assert.Equal(expected, entry.GetLineString());
    }

    [Fact]
    public void Constructor_NoSource_Throws()
    {
        var ex = Assert.Throws<StageOptionsException>(() => new OutputStage(new OutputStageOptions()));
        Assert.Contains("output.source", ex.Message);
    }
}
