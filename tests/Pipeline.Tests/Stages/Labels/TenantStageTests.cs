using Pipeline.Model;
using Pipeline.Stages;
using Pipeline.Stages.Labels;

namespace Pipeline.Tests.Stages.Labels;

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
