using Pipeline.Model;
using Pipeline.Stages;
using Pipeline.Stages.Labels;

namespace Pipeline.Tests.Stages.Labels;

public class LabelDropStageTests
{
    [Theory]
    [InlineData("{a=\"1\", b=\"2\", c=\"3\"}", "{c=\"3\"}")]
    [InlineData("{c=\"3\"}", "{c=\"3\"}")]
    [InlineData("{}", "{}")]
    public void Process_RemovesListedLabels(string input, string expected)
    {
        var stage = new LabelDropStage(new LabelDropStageOptions { Values = { "a", "b" } });
        var entry = StageTest.Entry("", StageTest.Labels(input));

        stage.Process(entry);

        Assert.Equal(expected, entry.Labels.ToString());
    }

    [Fact]
    public void Constructor_Empty_Throws()
    {
        Assert.Throws<StageOptionsException>(() => new LabelDropStage(new LabelDropStageOptions()));
    }
}
