using Pipeline.Stages;
using Pipeline.Stages.Flow;

namespace Pipeline.Tests.Stages.Flow;

public class ReplaceStageTests
{
    [Theory]
    [InlineData("11.11.11.11 - frank [25/Jan/2000]", "^(\\S+) - (\\S+)", "{{ .Value | ToUpper }}", "11.11.11.11 - FRANK [25/Jan/2000]")]
    [InlineData("password=secret user=bo", "password=(\\S+)", "****", "password=**** user=bo")]
    [InlineData("a1 b2 c3", "(\\d)", "#", "a# b# c#")]
    [InlineData("remove (this) please", " \\((\\w+)\\)", "", "remove () please")]
    [InlineData("no match here", "(\\d+)", "x", "no match here")]
    [InlineData("", "(x)", "y", "")]
    public void Process_Line_ReplacesCaptures(string line, string expression, string replace, string expected)
    {
        var stage = new ReplaceStage(new ReplaceStageOptions { Expression = expression, Replace = replace });
        var entry = StageTest.Entry(line);

        stage.Process(entry);

        Assert.Equal(expected, entry.GetLineString());
    }

    [Fact]
    public void Process_NamedGroups_ExtractedWithReplacedValue()
    {
        var stage = new ReplaceStage(new ReplaceStageOptions { Expression = "user=(?P<user>\\w+)", Replace = "{{ .Value | ToUpper }}" });
        var entry = StageTest.Entry("user=bo x");

        stage.Process(entry);

        Assert.Equal("user=BO x", entry.GetLineString());
        Assert.Equal("BO", entry.Extracted.Get("user"));
    }

    [Fact]
    public void Process_Source_ChangesExtractedValueOnly()
    {
        var stage = new ReplaceStage(new ReplaceStageOptions { Expression = "(\\d+)", Replace = "<{{ .Value }}>", Source = "msg" });
        var entry = StageTest.Entry("line 1");
        entry.Extracted.Set("msg", "id 42");

        stage.Process(entry);

        Assert.Equal("line 1", entry.GetLineString());
        Assert.Equal("id <42>", entry.Extracted.Get("msg"));
    }

    [Fact]
    public void Constructor_NoExpression_Throws()
    {
        var ex = Assert.Throws<StageOptionsException>(() => new ReplaceStage(new ReplaceStageOptions { Replace = "x" }));
        Assert.Contains("replace.expression", ex.Message);
    }
}
