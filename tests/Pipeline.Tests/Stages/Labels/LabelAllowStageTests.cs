using Pipeline.Model;
using Pipeline.Stages;
using Pipeline.Stages.Labels;

namespace Pipeline.Tests.Stages.Labels;

public class LabelAllowStageTests
{
    [Theory]
    [InlineData("{a=\"1\", b=\"2\", c=\"3\"}", "{a=\"1\", b=\"2\"}")]
    [InlineData("{__path__=\"/x\", a=\"1\"}", "{a=\"1\"}")]
    [InlineData("{c=\"3\"}", "{}")]
    public void Process_KeepsOnlyListedLabels(string input, string expected)
    {
        var stage = new LabelAllowStage(new LabelAllowStageOptions { Values = { "a", "b" } });
        var entry = StageTest.Entry("", StageTest.Labels(input));

        stage.Process(entry);

        Assert.Equal(expected, entry.Labels.ToString());
    }

    [Fact]
    public void Constructor_InvalidName_Throws()
    {
        var ex = Assert.Throws<StageOptionsException>(() => new LabelAllowStage(new LabelAllowStageOptions { Values = { "ok", "not ok" } }));
        Assert.Contains("labelallow.values", ex.Message);
    }
}
