using Pipeline.Runtime;
using Pipeline.Stages;
using Pipeline.Stages.Labels;

namespace Pipeline.Tests.Stages.Labels;

public class RelabelStageTests
{
    private const string Input = "{__meta_pod=\"api-1\", a=\"foo\", b=\"bar\", c=\"baz\"}";

    public static TheoryData<RelabelRule, string?> Cases => new()
    {
        { new RelabelRule { SourceLabels = ["a"], Regex = "f(.*)", TargetLabel = "d", Replacement = "ch${1}-ch${1}" }, "{__meta_pod=\"api-1\", a=\"foo\", b=\"bar\", c=\"baz\", d=\"choo-choo\"}" },
        { new RelabelRule { SourceLabels = ["a", "b"], Regex = "f(.*);(.*)r", TargetLabel = "a", Replacement = "b${1}${2}m" }, "{__meta_pod=\"api-1\", a=\"boobam\", b=\"bar\", c=\"baz\"}" },
        { new RelabelRule { SourceLabels = ["a"], Regex = "o", TargetLabel = "d" }, Input },
        { new RelabelRule { SourceLabels = ["a"], TargetLabel = "d" }, "{__meta_pod=\"api-1\", a=\"foo\", b=\"bar\", c=\"baz\", d=\"foo\"}" },
        { new RelabelRule { SourceLabels = ["a"], Regex = "(f).*", TargetLabel = "${1}x", Replacement = "v" }, "{__meta_pod=\"api-1\", a=\"foo\", b=\"bar\", c=\"baz\", fx=\"v\"}" },
        { new RelabelRule { SourceLabels = ["a"], Regex = "(.*)", TargetLabel = "b", Replacement = "" }, "{__meta_pod=\"api-1\", a=\"foo\", c=\"baz\"}" },
        { new RelabelRule { SourceLabels = ["a"], Regex = "(?P<x>f)oo", TargetLabel = "d", Replacement = "$x-$1x-${x}y-$$" }, "{__meta_pod=\"api-1\", a=\"foo\", b=\"bar\", c=\"baz\", d=\"f--fy-$\"}" },
        { new RelabelRule { SourceLabels = ["a"], Regex = "foo", Action = "drop" }, null },
        { new RelabelRule { SourceLabels = ["a"], Regex = "fo", Action = "drop" }, Input },
        { new RelabelRule { SourceLabels = ["a"], Regex = "f.*", Action = "keep" }, Input },
        { new RelabelRule { SourceLabels = ["missing"], Regex = "x", Action = "keep" }, null },
        { new RelabelRule { SourceLabels = ["missing"], Regex = "", Action = "keep" }, Input },
        { new RelabelRule { SourceLabels = ["c"], TargetLabel = "d", Modulus = 1000, Action = "hashmod" }, "{__meta_pod=\"api-1\", a=\"foo\", b=\"bar\", c=\"baz\", d=\"976\"}" },
        { new RelabelRule { Regex = "__meta_(.+)", Action = "labelmap" }, "{__meta_pod=\"api-1\", a=\"foo\", b=\"bar\", c=\"baz\", pod=\"api-1\"}" },
        { new RelabelRule { Regex = "__meta_(.+)", Replacement = "k8s_$1", Action = "labelmap" }, "{__meta_pod=\"api-1\", a=\"foo\", b=\"bar\", c=\"baz\", k8s_pod=\"api-1\"}" },
        { new RelabelRule { Regex = "[ab]", Action = "labeldrop" }, "{__meta_pod=\"api-1\", c=\"baz\"}" },
        { new RelabelRule { Regex = "[ab]", Action = "labelkeep" }, "{a=\"foo\", b=\"bar\"}" },
        { new RelabelRule { SourceLabels = ["a"], TargetLabel = "up", Action = "uppercase" }, "{__meta_pod=\"api-1\", a=\"foo\", b=\"bar\", c=\"baz\", up=\"FOO\"}" },
        { new RelabelRule { SourceLabels = ["a"], TargetLabel = "b", Action = "keepequal" }, null },
        { new RelabelRule { SourceLabels = ["a"], TargetLabel = "b", Action = "dropequal" }, Input },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Process_Rule_BehavesLikePrometheus(RelabelRule rule, string? expected)
    {
        var stage = new RelabelStage(new RelabelStageOptions { Configs = { rule } });
        var entry = StageTest.Entry("x", StageTest.Labels(Input));

        var result = stage.Process(entry);

        if (expected is null)
        {
            Assert.Equal(StageResult.Drop(RelabelStage.DropReason), result);
        }
        else
        {
            Assert.Equal(StageResult.Keep, result);
            Assert.Equal(expected, entry.Labels.ToString());
        }
    }

    [Fact]
    public void Process_SameInput_ReusesResult()
    {
        var stage = new RelabelStage(new RelabelStageOptions { Configs = { new RelabelRule { SourceLabels = ["a"], TargetLabel = "d" } } });
        var e1 = StageTest.Entry("x", StageTest.Labels(Input));
        var e2 = StageTest.Entry("x", StageTest.Labels(Input));

        stage.Process(e1);
        stage.Process(e2);

        Assert.Same(e1.Labels, e2.Labels);
    }

    [Theory]
    [InlineData("bogus", null, null, 0UL, "relabel_configs[0].action")]
    [InlineData("replace", null, null, 0UL, "relabel_configs[0].target_label")]
    [InlineData("replace", "1bad", null, 0UL, "relabel_configs[0].target_label")]
    [InlineData("hashmod", "h", null, 0UL, "relabel_configs[0].modulus")]
    [InlineData("labeldrop", "x", null, 0UL, "relabel_configs[0].action")]
    [InlineData("replace", "t", "(", 0UL, "relabel_configs[0].regex")]
    public void Constructor_InvalidRule_ThrowsNamingField(string action, string? target, string? regex, ulong modulus, string field)
    {
        var rule = new RelabelRule { Action = action, TargetLabel = target, Regex = regex, Modulus = modulus };

        var ex = Assert.Throws<StageOptionsException>(() => new RelabelStage(new RelabelStageOptions { Configs = { rule } }));

        Assert.Contains("relabel." + field, ex.Message);
    }
}
