using System.Text;
using Pipeline.LogQL.Extraction;

namespace Pipeline.Tests.LogQL.Extraction;

public class LogfmtExtractorTests
{
    [Theory]
    [InlineData("Stop", "a=1", true, null)]
    [InlineData("Skip", "a=1;b=2", true, null)]
    [InlineData("Report", "a=1", false, "logfmt syntax error at pos 5 : unexpected '='")]
    public void SyntaxError_StopSkipOrReport(string errors, string expected, bool ok, string? expectedError)
    {
        var (values, result, error) = Extract(new LogfmtExtractor(null, Enum.Parse<LogfmtErrors>(errors), keepEmpty: false), [], "a=1 =oops b=2");

        Assert.Equal(expected, values);
        Assert.Equal(ok, result);
        Assert.Equal(expectedError, error);
    }

    [Theory]
    [InlineData("a=b=c next=1", "next=1", "logfmt syntax error at pos 4 : unexpected '='")]
    [InlineData("a=b\"c next=1", "next=1", "logfmt syntax error at pos 4 : unexpected '\"'")]
    [InlineData("k\"ey=v next=1", "next=1", "logfmt syntax error at pos 2 : unexpected '\"'")]
    [InlineData("a=\"bad \\q\" next=1", "next=1", "logfmt syntax error at pos 11 : invalid quoted value")]
    [InlineData("next=1 a=\"open", "next=1", "logfmt syntax error at pos 15 : unterminated quoted value")]
    public void Malformed_SkippedOrReported(string line, string skipped, string reported)
    {
        Assert.Equal(skipped, Extract(new LogfmtExtractor(null, LogfmtErrors.Skip, false), [], line).Values);
        Assert.Equal(reported, Extract(new LogfmtExtractor(null, LogfmtErrors.Report, false), [], line).Error);
    }

    [Fact]
    public void AllKeys_EmptyValues_KeptOnlyWithKeepEmpty()
    {
        const string Line = "flag level=debug empty= msg=\"say \\\"hi\\\"\\n\\u00e9\"";

        Assert.Equal("level=debug;msg=say \"hi\"\né", Extract(new LogfmtExtractor(null, LogfmtErrors.Skip, false), [], Line).Values);
        Assert.Equal("flag=;level=debug;empty=;msg=say \"hi\"\né", Extract(new LogfmtExtractor(null, LogfmtErrors.Skip, true), [], Line).Values);
    }

    [Fact]
    public void Keys_EveryOccurrenceOfEveryMappedKey()
    {
        string[] keys = ["level", "msg", "level"];

        var values = Extract(new LogfmtExtractor(keys, LogfmtErrors.Stop, true), ["a", "b", "c"], "level=info msg=x other=1 level=warn").Values;

        Assert.Equal("a=info;c=info;b=x;a=warn;c=warn", values);
    }

    private static (string Values, bool Result, string? Error) Extract(LogfmtExtractor extractor, string[] names, string line)
    {
        var target = new RecordingTarget(names);
        var result = extractor.Extract(Encoding.UTF8.GetBytes(line), ref target, out var error);
        return (target.ToString(), result, error);
    }
}
