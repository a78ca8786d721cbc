using Pipeline.Stages;
using Pipeline.Stages.Parsing;

namespace Pipeline.Tests.Stages.Parsing;

public class RegexStageTests
{
    [Theory]
    [InlineData("^(?P<level>\\w+) (?P<msg>.*)$", "info hello world", "level", "info")]
    [InlineData("^(?P<level>\\w+) (?P<msg>.*)$", "info hello world", "msg", "hello world")]
    [InlineData("^(?<level>\\w+)", "warn x", "level", "warn")]
    [InlineData("(?P<a>x)|(?P<b>y)", "y", "a", "")]
    [InlineData("(?P<a>x)|(?P<b>y)", "y", "b", "y")]
    [InlineData("^(?P<level>\\w+) ", "nomatch", "level", null)]
    [InlineData("^(?P<all>.*)$", "", "all", "")]
    [InlineData("(?P<word>[[:alpha:]]+)", "123abc456", "word", "abc")]
    [InlineData("(?P<lit>\\Q.*\\E)", "a.*b", "lit", ".*")]
    [InlineData("(?P<letters>\\pL+)", "12été", "letters", "été")]
    [InlineData("(?i)(?P<l>ERROR)", "an error", "l", "error")]
    public void Process_Line_ExtractsNamedGroups(string expression, string line, string name, string? expected)
    {
        var stage = new RegexStage(new RegexStageOptions { Expression = expression });
        var entry = StageTest.Entry(line);

        stage.Process(entry);

        Assert.Equal(expected, entry.Extracted.Get(name));
    }

    [Fact]
    public void Process_InvalidUtf8_MatchesAroundReplacementChar()
    {
        var stage = new RegexStage(new RegexStageOptions { Expression = "(?P<w>[a-z]+)$" });
        var entry = StageTest.Entry([0xff, 0xfe, (byte)'o', (byte)'k']);

        stage.Process(entry);

        Assert.Equal("ok", entry.Extracted.Get("w"));
    }

    [Fact]
    public void Process_VeryLongLine_Matches()
    {
        var stage = new RegexStage(new RegexStageOptions { Expression = "(?P<tail>z+)$" });
        var entry = StageTest.Entry(new string('a', 1 << 20) + "zzz");

        stage.Process(entry);

        Assert.Equal("zzz", entry.Extracted.Get("tail"));
    }

    [Fact]
    public void Process_ShorterLineAfterLonger_DoesNotSeeOldText()
    {
        var stage = new RegexStage(new RegexStageOptions { Expression = "^(?P<all>.*)$" });
        var long1 = StageTest.Entry("a much longer line");
        var short1 = StageTest.Entry("short");

        stage.Process(long1);
        stage.Process(short1);

        Assert.Equal("short", short1.Extracted.Get("all"));
    }

    [Fact]
    public void Process_Source_MatchesExtractedValue()
    {
        var stage = new RegexStage(new RegexStageOptions { Expression = "/pods/(?P<ns>[^_]+)_", Source = "filename" });
        var entry = StageTest.Entry("line");
        entry.Extracted.Set("filename", "/var/log/pods/prod_api-1_uid/c/0.log"u8);
        var missing = StageTest.Entry("/var/log/pods/x_y");

        stage.Process(entry);
        stage.Process(missing);

        Assert.Equal("prod", entry.Extracted.Get("ns"));
        Assert.Null(missing.Extracted.Get("ns"));
    }

    [Theory]
    [InlineData("(?P<a>\\w+) \\1", "\\1 at position 11 is not supported: RE2 has no backreferences")]
    [InlineData("(?P<a>foo)(?=bar)", "(?= at position 10 is not supported: RE2 has no lookahead")]
    [InlineData("(?P<a>(?>x+))", "(?> at position 6 is not supported: RE2 has no atomic groups")]
    public void Constructor_ConstructOutsideRe2_ThrowsNamingIt(string expression, string expected)
    {
        var ex = Assert.Throws<StageOptionsException>(() => new RegexStage(new RegexStageOptions { Expression = expression }));

        Assert.Contains("regex.expression", ex.Message);
        Assert.Contains(expected, ex.Message);
    }

    [Theory]
    [InlineData(null, "required")]
    [InlineData("(?P<a>", "valid regular expression")]
    [InlineData("(\\d+)", "named group")]
    [InlineData("[[:nope:]]", "POSIX")]
    public void Constructor_InvalidExpression_ThrowsNamingField(string? expression, string expected)
    {
        var ex = Assert.Throws<StageOptionsException>(() => new RegexStage(new RegexStageOptions { Expression = expression }));

        Assert.Contains("regex.expression", ex.Message);
        Assert.Contains(expected, ex.Message);
    }
}

public class RegexStageSourceCacheTests
{
    [Fact]
    public void Process_RepeatedSource_SameResultsAndNoAllocation()
    {
        var stage = new RegexStage(new RegexStageOptions { Expression = "^/pods/(?P<ns>[^_]+)_(?P<pod>[^/]+)?/", Source = "f" });
        var entry = new Pipeline.Model.LogEntry();
        void Run(string value)
        {
            entry.Extracted.Clear();
            entry.Extracted.Set("f", value);
            stage.Process(entry);
        }

        Run("/pods/prod_api/");
        Run("/pods/prod_api/");
        Assert.Equal("prod", entry.Extracted.Get("ns"));
        Assert.Equal("api", entry.Extracted.Get("pod"));

        Run("/pods/dev_/");
        Run("/pods/dev_/");
        Assert.Equal("dev", entry.Extracted.Get("ns"));
        Assert.Equal("", entry.Extracted.Get("pod"));

        Run("no match");
        Run("no match");
        Assert.Null(entry.Extracted.Get("ns"));

        Run("/pods/é_ü/");
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            entry.Extracted.Clear();
            entry.Extracted.Set("f", "/pods/é_ü/"u8);
            stage.Process(entry);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal("é", entry.Extracted.Get("ns"));
        Assert.Equal("ü", entry.Extracted.Get("pod"));
    }
}
