using Pipeline.Model;
using Pipeline.Stages;
using Pipeline.Stages.Labels;

namespace Pipeline.Tests.Stages.Labels;

public class StaticLabelsStageTests
{
    [Theory]
    [InlineData("{}", "{env=\"prod\", team=\"core\"}")]
    [InlineData("{env=\"dev\"}", "{env=\"prod\", team=\"core\"}")]
    [InlineData("{drop=\"me\", z=\"1\"}", "{env=\"prod\", team=\"core\", z=\"1\"}")]
    public void Process_SetsStaticLabels(string input, string expected)
    {
        var stage = new StaticLabelsStage(new StaticLabelsStageOptions { Values = { ["env"] = "prod", ["team"] = "core", ["drop"] = "" } });
        var entry = StageTest.Entry("", StageTest.Labels(input));

        stage.Process(entry);

        Assert.Equal(expected, entry.Labels.ToString());
    }

    [Fact]
    public void Process_SameInput_ReusesOutput()
    {
        var stage = new StaticLabelsStage(new StaticLabelsStageOptions { Values = { ["env"] = "prod" } });
        var input = StageTest.Labels("{a=\"1\"}");
        var e1 = StageTest.Entry("", input);
        var e2 = StageTest.Entry("", StageTest.Labels("{a=\"1\"}"));

        stage.Process(e1);
        stage.Process(e2);

        Assert.Same(e1.Labels, e2.Labels);
    }

    [Fact]
    public void Constructor_InvalidName_Throws()
    {
        var ex = Assert.Throws<StageOptionsException>(() => new StaticLabelsStage(new StaticLabelsStageOptions { Values = { ["bad-name"] = "x" } }));
        Assert.Contains("static_labels.values", ex.Message);
        Assert.Contains("bad-name", ex.Message);
    }
}
