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

public class TenantStageTests
{
    [Theory]
    [InlineData("team-a", null, null, "team-a")]
    [InlineData(null, "tenant", null, "from-extracted")]
    [InlineData(null, null, "org", "from-label")]
    [InlineData(null, "absent", null, "before")]
    [InlineData(null, null, "absent", "before")]
    public void Process_SetsTenant(string? value, string? source, string? label, string expected)
    {
        var stage = new TenantStage(new TenantStageOptions { Value = value, Source = source, Label = label });
        var entry = StageTest.Entry("x", StageTest.Labels("{org=\"from-label\"}"));
        entry.Tenant = "before";
        entry.Extracted.Set("tenant", "from-extracted");

        stage.Process(entry);

        Assert.Equal(expected, entry.Tenant);
    }

    [Fact]
    public void Process_RepeatedValue_ReusesString()
    {
        var stage = new TenantStage(new TenantStageOptions { Source = "t" });
        var a = StageTest.Entry("x");
        a.Extracted.Set("t", "acme");
        var b = StageTest.Entry("x");
        b.Extracted.Set("t", "acme");

        stage.Process(a);
        stage.Process(b);

        Assert.Same(a.Tenant, b.Tenant);
    }

    [Theory]
    [InlineData(null, null, null)]
    [InlineData("v", "s", null)]
    [InlineData(null, "s", "l")]
    public void Constructor_NotExactlyOne_Throws(string? value, string? source, string? label)
    {
        var ex = Assert.Throws<StageOptionsException>(() => new TenantStage(new TenantStageOptions { Value = value, Source = source, Label = label }));
        Assert.Contains("exactly one of source, label or value", ex.Message);
    }
}
