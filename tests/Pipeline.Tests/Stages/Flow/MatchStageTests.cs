using Pipeline.Runtime;
using Pipeline.Stages;
using Pipeline.Stages.Flow;
using Pipeline.Stages.Labels;

namespace Pipeline.Tests.Stages.Flow;

public class MatchStageTests
{
    [Theory]
    [InlineData("{app=\"api\"}", "{app=\"api\", env=\"prod\"}", "x", true)]
    [InlineData("{app=\"api\"}", "{app=\"web\"}", "x", false)]
    [InlineData("{app!=\"api\"}", "{app=\"web\"}", "x", true)]
    [InlineData("{app=~\"a.*\"}", "{app=\"api\"}", "x", true)]
    [InlineData("{app=~\"p\"}", "{app=\"api\"}", "x", false)]
    [InlineData("{app!~\"w.*\", env=\"prod\"}", "{app=\"api\", env=\"prod\"}", "x", true)]
    [InlineData("{missing=\"\"}", "{app=\"api\"}", "x", true)]
    [InlineData("{app=\"api\"} |= \"error\"", "{app=\"api\"}", "an error here", true)]
    [InlineData("{app=\"api\"} |= \"error\"", "{app=\"api\"}", "all good", false)]
    [InlineData("{app=\"api\"} != \"health\"", "{app=\"api\"}", "GET /health", false)]
    [InlineData("{app=\"api\"} |~ \"(?i)ERR\" !~ \"ignored\"", "{app=\"api\"}", "err: boom", true)]
    [InlineData("{app=\"api\"} |~ `\\d{3}`", "{app=\"api\"}", "status 500", true)]
    [InlineData("{app=\"api\"} |= \"\"", "{app=\"api\"}", "", true)]
    [InlineData("{app=\"api\"} |= \"boom\" or \"error\"", "{app=\"api\"}", "an error here", true)]
    [InlineData("{app=\"api\"} != \"boom\" or \"error\"", "{app=\"api\"}", "an error here", false)]
    [InlineData("{app=~\"a.*\"} # a comment", "{app=\"api\"}", "x", true)]
    public void Process_Selector_RunsNestedStagesOnlyOnMatch(string selector, string labels, string line, bool matched)
    {
        var stage = new MatchStage(new MatchStageOptions
        {
            Selector = selector,
            Stages = { new StaticLabelsStage(new StaticLabelsStageOptions { Values = { ["matched"] = "yes" } }) },
        });
        var entry = StageTest.Entry(line, StageTest.Labels(labels));

        Assert.Equal(StageResult.Keep, stage.Process(entry));

        Assert.Equal(matched ? "yes" : null, entry.Labels["matched"]);
    }

    [Fact]
    public void Process_ActionDrop_DropsMatching()
    {
        var stage = new MatchStage(new MatchStageOptions { Selector = "{app=\"api\"} |= \"debug\"", Action = "drop", DropCounterReason = "noise" });

        Assert.Equal(StageResult.Drop("noise"), stage.Process(StageTest.Entry("debug x", StageTest.Labels("{app=\"api\"}"))));
        Assert.Equal(StageResult.Keep, stage.Process(StageTest.Entry("info x", StageTest.Labels("{app=\"api\"}"))));
    }

    [Fact]
    public void Process_NestedDrop_Propagates()
    {
        var stage = new MatchStage(new MatchStageOptions
        {
            Selector = "{app=\"api\"}",
            Stages = { new DropStage(new DropStageOptions { LongerThan = 1 }) },
        });

        Assert.Equal(StageResult.Drop("drop_stage"), stage.Process(StageTest.Entry("long", StageTest.Labels("{app=\"api\"}"))));
    }

    [Theory]
    [InlineData(null, "keep", true, "match.selector")]
    [InlineData("app=\"x\"", "keep", true, "syntax error: unexpected IDENTIFIER, expecting {")]
    [InlineData("{}", "keep", true, "at least one label matcher")]
    [InlineData("{app==\"x\"}", "keep", true, "syntax error: unexpected ==, expecting = or =~ or !~ or !=")]
    [InlineData("{app=\"x\"} | json", "keep", true, "'| json' is not supported in a match selector")]
    [InlineData("{app=\"x\"} | level=\"error\"", "keep", true, "is not supported in a match selector")]
    [InlineData("{app=\"x\"} |~ \"a\\\\1\"", "keep", true, "RE2 has no backreferences")]
    [InlineData("{app=~\"(\"}", "keep", true, "match.selector")]
    [InlineData("{app=\"x\"}", "explode", true, "match.action")]
    [InlineData("{app=\"x\"}", "drop", true, "no nested stages")]
    [InlineData("{app=\"x\"}", "keep", false, "at least one nested stage")]
    public void Constructor_Invalid_Throws(string? selector, string action, bool withStages, string expected)
    {
        var options = new MatchStageOptions { Selector = selector, Action = action };
        if (withStages)
        {
            options.Stages.Add(new DecolorizeStage());
        }

        var ex = Assert.Throws<StageOptionsException>(() => new MatchStage(options));
        Assert.Contains(expected, ex.Message);
    }
}
