using Pipeline.Model;
using Pipeline.Stages;
using Pipeline.Stages.Labels;
using Pipeline.Stages.Parsing;

namespace Pipeline.Tests.Stages.Labels;

public class LabelsStageTests
{
    [Theory]
    [InlineData("{job=\"a\"}", "level", "info", "{job=\"a\", level=\"info\"}")]
    [InlineData("{job=\"a\", level=\"old\"}", "level", "new", "{job=\"a\", level=\"new\"}")]
    [InlineData("{job=\"a\", level=\"old\"}", "level", "", "{job=\"a\"}")]
    [InlineData("{job=\"a\"}", "other", "x", "{job=\"a\"}")]
    [InlineData("{}", "level", "ünïcode", "{level=\"ünïcode\"}")]
    public void Process_ExtractedValue_SetsLabel(string input, string extractedName, string value, string expected)
    {
        var stage = new LabelsStage(new LabelsStageOptions { Values = { ["level"] = null } });
        var entry = StageTest.Entry("x", StageTest.Labels(input));
        entry.Extracted.Set(extractedName, value);

        stage.Process(entry);

        Assert.Equal(expected, entry.Labels.ToString());
    }

    [Fact]
    public void Process_InvalidUtf8Value_SkipsLabel()
    {
        var stage = new LabelsStage(new LabelsStageOptions { Values = { ["level"] = "lvl" } });
        var entry = StageTest.Entry("x");
        entry.Extracted.Set("lvl", [0xff, 0xfe]);

        stage.Process(entry);

        Assert.Same(LabelSet.Empty, entry.Labels);
    }

    [Fact]
    public void Process_SameInputAndValues_ReusesLabelSet_DifferentValues_DoNot()
    {
        var stage = new LabelsStage(new LabelsStageOptions { Values = { ["level"] = null } });
        var input = StageTest.Labels("{job=\"a\"}");
        LabelSet Run(string level)
        {
            var e = StageTest.Entry("x", input);
            e.Extracted.Set("level", level);
            stage.Process(e);
            return e.Labels;
        }

        var info1 = Run("info");
        var warn1 = Run("warn");
        var info2 = Run("info");
        var warn2 = Run("warn");

        Assert.Same(info1, info2);
        Assert.Same(warn1, warn2);
        Assert.NotSame(info1, warn1);
        Assert.Equal("warn", warn2["level"]);
    }

    [Fact]
    public void Process_MissingThenPresent_AreCachedSeparately()
    {
        var stage = new LabelsStage(new LabelsStageOptions { Values = { ["level"] = null } });
        var input = StageTest.Labels("{job=\"a\"}");
        var missing = StageTest.Entry("x", input);
        var present = StageTest.Entry("x", input);
        present.Extracted.Set("level", "info");
        var emptyValue = StageTest.Entry("x", input);
        emptyValue.Extracted.Set("level", ""u8);

        stage.Process(missing);
        stage.Process(present);
        stage.Process(emptyValue);

        Assert.Same(input, missing.Labels);
        Assert.Equal("info", present.Labels["level"]);
        Assert.Equal(input, emptyValue.Labels);
    }

    [Fact]
    public void CriRegexLabelsChain_SameFile_AllocatesNoLabelSetPerLine()
    {
        var cri = new CriParser();
        var regex = new RegexStage(new RegexStageOptions { Expression = "/var/log/pods/(?P<namespace>[^_]+)_(?P<pod>[^_]+)_[^/]+/(?P<container>[^/]+)/", Source = "filename" });
        var labels = new LabelsStage(new LabelsStageOptions { Values = { ["namespace"] = null, ["pod"] = null, ["container"] = null } });
        var input = StageTest.Labels("{filename=\"/var/log/pods/prod_api-7d9_0f1e/app/0.log\"}");
        var entry = new LogEntry();
        var raw = "2024-01-02T03:04:05.123456789Z stdout F GET /x 200"u8.ToArray();
        LabelSet? first = null;
        long before = 0;
        for (var i = 0; i < 105; i++)
        {
            if (i == 5)
            {
                before = GC.GetAllocatedBytesForCurrentThread();
            }

            entry.SetLine(raw);
            entry.Labels = input;
            entry.Extracted.Clear();
            entry.Extracted.Set("filename", "/var/log/pods/prod_api-7d9_0f1e/app/0.log"u8);
            cri.Process(entry);
            regex.Process(entry);
            labels.Process(entry);
            first ??= entry.Labels;
            if (!ReferenceEquals(first, entry.Labels))
            {
                Assert.Same(first, entry.Labels);
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        Assert.Equal("{container=\"app\", filename=\"/var/log/pods/prod_api-7d9_0f1e/app/0.log\", namespace=\"prod\", pod=\"api-7d9\", stream=\"stdout\"}", first!.ToString());
    }

    [Theory]
    [InlineData("1bad")]
    [InlineData("a-b")]
    [InlineData("")]
    public void Constructor_InvalidLabelName_Throws(string name)
    {
        var ex = Assert.Throws<StageOptionsException>(() => new LabelsStage(new LabelsStageOptions { Values = { [name] = "x" } }));
        Assert.Contains("labels.values", ex.Message);
    }

    [Fact]
    public void Constructor_Empty_Throws()
    {
        Assert.Throws<StageOptionsException>(() => new LabelsStage(new LabelsStageOptions()));
    }
}
