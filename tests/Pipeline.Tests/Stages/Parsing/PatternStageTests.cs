using Pipeline.Stages;
using Pipeline.Stages.Parsing;

namespace Pipeline.Tests.Stages.Parsing;

public class PatternStageTests
{
    private const string Access = "<ip> - <_> [<ts>] \"<method> <path> <_>\" <status> <size>";

    [Theory]
    [InlineData(Access, "10.0.0.1 - frank [10/Oct/2000:13:55:36] \"GET /a.gif HTTP/1.0\" 200 2326", "ip=10.0.0.1;ts=10/Oct/2000:13:55:36;method=GET;path=/a.gif;status=200;size=2326")]
    [InlineData("<level> <msg>", "info hello world", "level=info;msg=hello world")]
    [InlineData("[<level>] <msg>", "[warn] disk", "level=warn;msg=disk")]
    [InlineData("[<level>] <msg>", "warn disk", "")]
    [InlineData("<a>: <b>", "no colon here", "a=no colon here")]
    [InlineData("<a> <_> <c>", "1 2 3 4", "a=1;c=3 4")]
    [InlineData("<a>,", "x,y,", "a=x")]
    [InlineData("<a> <b>", "", "")]
    public void Process_Line_ExtractsCaptures(string pattern, string line, string expected)
    {
        var stage = new PatternStage(new PatternStageOptions { Pattern = pattern });
        var entry = StageTest.Entry(line);

        stage.Process(entry);

        var actual = string.Join(";", Enumerable.Range(0, entry.Extracted.Count).Select(i => $"{entry.Extracted.NameAt(i)}={System.Text.Encoding.UTF8.GetString(entry.Extracted.ValueAt(i))}"));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Process_Source_MatchesExtractedValue()
    {
        var stage = new PatternStage(new PatternStageOptions { Pattern = "<ns>/<pod>", Source = "job" });
        var entry = StageTest.Entry("ignored");
        entry.Extracted.Set("job", "prod/api"u8);

        stage.Process(entry);

        Assert.Equal("prod", entry.Extracted.Get("ns"));
        Assert.Equal("api", entry.Extracted.Get("pod"));
    }

    [Fact]
    public void Process_InvalidUtf8_DoesNotThrow()
    {
        var stage = new PatternStage(new PatternStageOptions { Pattern = "<a> <b>" });
        var entry = StageTest.Entry([0xff, (byte)' ', 0xfe]);

        stage.Process(entry);

        Assert.Equal([0xff], entry.Extracted.ValueAt(0).ToArray());
    }

    [Theory]
    [InlineData(null, "a pattern")]
    [InlineData("no captures", "named capture")]
    [InlineData("<_> only", "named capture")]
    [InlineData("<a><b>", "literal between two captures")]
    [InlineData("<a> <a>", "unique")]
    public void Constructor_InvalidPattern_Throws(string? pattern, string expected)
    {
        var ex = Assert.Throws<StageOptionsException>(() => new PatternStage(new PatternStageOptions { Pattern = pattern }));

        Assert.Contains("pattern.pattern", ex.Message);
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Constructor_AngleBracketsThatAreNotCaptures_AreLiterals()
    {
        var stage = new PatternStage(new PatternStageOptions { Pattern = "<1x> <v>" });
        var entry = StageTest.Entry("<1x> value");

        stage.Process(entry);

        Assert.Equal("value", entry.Extracted.Get("v"));
    }
}
