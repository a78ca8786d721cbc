using Pipeline.Stages;
using Pipeline.Stages.Parsing;

namespace Pipeline.Tests.Stages.Parsing;

public class LogfmtStageTests
{
    [Theory]
    [InlineData("level=info msg=hello", "level", "info")]
    [InlineData("level=info msg=hello", "msg", "hello")]
    [InlineData("msg=\"hello world\" level=warn", "msg", "hello world")]
    [InlineData("msg=\"say \\\"hi\\\"\\n\\u00e9\"", "msg", "say \"hi\"\né")]
    [InlineData("flag level=debug", "flag", "")]
    [InlineData("a=1   b=2\tc=3", "c", "3")]
    [InlineData("empty= next=1", "empty", "")]
    [InlineData("", "level", null)]
    [InlineData("no pairs here", "level", null)]
    [InlineData("level=info =oops msg=x", "level", "info")]
    [InlineData("level=info =oops msg=x", "msg", null)]
    [InlineData("msg=\"unterminated level=x", "msg", null)]
    [InlineData("ts=2024-01-02T03:04:05Z caller=main.go:12", "caller", "main.go:12")]
    public void Process_Line_ExtractsMappedKeys(string line, string key, string? expected)
    {
        var stage = new LogfmtStage(new LogfmtStageOptions { Mapping = { [key] = null } });
        var entry = StageTest.Entry(line);

        stage.Process(entry);

        Assert.Equal(expected, entry.Extracted.Get(key));
    }

    [Fact]
    public void Process_MappingRenames_AndIgnoresUnmapped()
    {
        var stage = new LogfmtStage(new LogfmtStageOptions { Mapping = { ["severity"] = "level" } });
        var entry = StageTest.Entry("level=error msg=x");

        stage.Process(entry);

        Assert.Equal("error", entry.Extracted.Get("severity"));
        Assert.Equal(1, entry.Extracted.Count);
    }

    [Fact]
    public void Process_Source_ParsesExtractedValue()
    {
        var stage = new LogfmtStage(new LogfmtStageOptions { Mapping = { ["a"] = "" }, Source = "inner" });
        var entry = StageTest.Entry("a=line");
        entry.Extracted.Set("inner", "a=inner"u8);

        stage.Process(entry);

        Assert.Equal("inner", entry.Extracted.Get("a"));
    }

    [Fact]
    public void Process_InvalidUtf8AndLongLine_DoNotThrow()
    {
        var stage = new LogfmtStage(new LogfmtStageOptions { Mapping = { ["a"] = "" } });
        stage.Process(StageTest.Entry([(byte)'a', (byte)'=', 0xff, 0xfe]));
        var big = new string('x', 1 << 20);
        var entry = StageTest.Entry("a=" + big);

        stage.Process(entry);

        Assert.Equal(big, entry.Extracted.Get("a"));
    }

    [Fact]
    public void Constructor_EmptyMapping_Throws()
    {
        var ex = Assert.Throws<StageOptionsException>(() => new LogfmtStage(new LogfmtStageOptions()));
        Assert.Contains("logfmt.mapping", ex.Message);
    }
}
