using Pipeline.Stages;
using Pipeline.Stages.Flow;

namespace Pipeline.Tests.Stages.Flow;

public class TemplateStageTests
{
    [Theory]
    [InlineData("{{ .Value }}", "WaRn")]
    [InlineData("{{ .Value | ToUpper }}", "WARN")]
    [InlineData("{{ ToLower .Value }}", "warn")]
    [InlineData("{{ .app }}-{{ .Value }}", "api-WaRn")]
    [InlineData("{{ Replace .Value \"a\" \"A\" -1 }}", "WARn")]
    [InlineData("{{ Replace .Entry \"o\" \"0\" 1 }}", "h0 hello")]
    [InlineData("{{ TrimSpace .padded }}", "x y")]
    [InlineData("{{ regexReplaceAll \"(\\\\w)a\" .Value \"${1}_\" }}", "W_Rn")]
    [InlineData("{{ regexReplaceAllLiteral \"a\" .Value \"$1\" }}", "W$1Rn")]
    [InlineData("{{ .Entry }}", "ho hello")]
    [InlineData("{{ .missing }}", "<no value>")]
    [InlineData("{{ if eq .Value \"WaRn\" }}warning{{ else }}other{{ end }}", "warning")]
    [InlineData("{{ if eq .app \"x\" }}x{{ else if eq .app \"api\" }}is-api{{ end }}", "is-api")]
    [InlineData("{{ if .missing }}yes{{ else }}no{{ end }}", "no")]
    [InlineData("a {{- \" b \" -}} c", "a b c")]
    [InlineData("{{ TrimPrefix .app \"a\" }}{{ TrimSuffix .app \"i\" }}", "piap")]
    public void Process_Template_WritesSource(string template, string expected)
    {
        var stage = new TemplateStage(new TemplateStageOptions { Source = "level", Template = template });
        var entry = StageTest.Entry("ho hello");
        entry.Extracted.Set("level", "WaRn");
        entry.Extracted.Set("app", "api");
        entry.Extracted.Set("padded", "  x y \t");

        stage.Process(entry);

        Assert.Equal(expected, entry.Extracted.Get("level"));
    }

    [Fact]
    public void Process_NewSource_CreatesValue_EmptyResultRemovesIt()
    {
        var create = new TemplateStage(new TemplateStageOptions { Source = "new", Template = "{{ .app }}!" });
        var remove = new TemplateStage(new TemplateStageOptions { Source = "app", Template = "{{ if .nope }}x{{ end }}" });
        var entry = StageTest.Entry("l");
        entry.Extracted.Set("app", "api");

        create.Process(entry);
        remove.Process(entry);

        Assert.Equal("api!", entry.Extracted.Get("new"));
        Assert.Null(entry.Extracted.Get("app"));
    }

    [Fact]
    public void Process_FunctionOnMissingValue_LeavesSourceUnchanged()
    {
        var stage = new TemplateStage(new TemplateStageOptions { Source = "level", Template = "{{ ToUpper .missing }}" });
        var entry = StageTest.Entry("l");
        entry.Extracted.Set("level", "info");

        stage.Process(entry);

        Assert.Equal("info", entry.Extracted.Get("level"));
    }

    [Theory]
    [InlineData("{{ .Value ", "unclosed")]
    [InlineData("{{ Nope .Value }}", "not defined")]
    [InlineData("{{ if .Value }}x", "unclosed")]
    [InlineData("{{ end }}", "unexpected")]
    [InlineData("{{ range .x }}{{ end }}", "not supported")]
    [InlineData("{{ regexReplaceAll \"(\" .Value \"x\" }}", "valid regular expression")]
    public void Constructor_BadTemplate_Throws(string template, string expected)
    {
        var ex = Assert.Throws<StageOptionsException>(() => new TemplateStage(new TemplateStageOptions { Source = "s", Template = template }));

        Assert.Contains("template.template", ex.Message);
        Assert.Contains(expected, ex.Message);
    }
}
