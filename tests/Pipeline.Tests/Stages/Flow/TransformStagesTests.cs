using Pipeline.Stages;
using Pipeline.Stages.Flow;

namespace Pipeline.Tests.Stages.Flow;

public class OutputStageTests
{
    [Theory]
    [InlineData("msg", "the message")]
    [InlineData("missing", "original")]
    [InlineData("empty", "")]
    public void Process_SetsLineFromSource(string source, string expected)
    {
        var stage = new OutputStage(new OutputStageOptions { Source = source });
        var entry = StageTest.Entry("original");
        entry.Extracted.Set("msg", "the message");
        entry.Extracted.Set("empty", ""u8);

        stage.Process(entry);

        Assert.Equal(expected, entry.GetLineString());
    }

    [Fact]
    public void Constructor_NoSource_Throws()
    {
        var ex = Assert.Throws<StageOptionsException>(() => new OutputStage(new OutputStageOptions()));
        Assert.Contains("output.source", ex.Message);
    }
}

public class DecolorizeStageTests
{
    [Theory]
    [InlineData("\u001b[31mred\u001b[0m text", "red text")]
    [InlineData("\u001b[1;32mbold green\u001b[m", "bold green")]
    [InlineData("no colors", "no colors")]
    [InlineData("", "")]
    [InlineData("\u001b[2K\u001b[0Gprogress", "progress")]
    [InlineData("dangling \u001b[", "dangling \u001b[")]
    [InlineData("lone \u001b escape", "lone \u001b escape")]
    public void Process_RemovesAnsiSequences(string line, string expected)
    {
        var entry = StageTest.Entry(line);

        new DecolorizeStage().Process(entry);

        Assert.Equal(expected, entry.GetLineString());
    }

    [Fact]
    public void Process_InvalidUtf8_KeptAroundSequences()
    {
        var entry = StageTest.Entry([0xff, 0x1b, (byte)'[', (byte)'1', (byte)'m', 0xfe]);

        new DecolorizeStage().Process(entry);

        Assert.Equal(new byte[] { 0xff, 0xfe }, entry.Line.ToArray());
    }
}

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
