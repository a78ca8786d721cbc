using System.Text;
using Pipeline.LogQL.Extraction;
using Pipeline.LogQL.Formatting;

namespace Pipeline.Tests.LogQL.Extraction;

public class ExtractorTests
{
    [Theory]
    [InlineData("<method> <path> <status> <_>", "GET /index.html 200 12ms", "method=GET;path=/index.html;status=200")]
    [InlineData("<a>: <b>", "no colon here", "a=no colon here")]
    [InlineData("[<level>] <msg>", "warn disk", "")]
    [InlineData("<a> <b>", "", "")]
    public void Pattern_MatchesLikeLoki(string pattern, string line, string expected)
    {
        var extractor = new PatternExtractor(pattern);
        var target = new RecordingTarget([.. extractor.Names]);

        extractor.Extract(Encoding.UTF8.GetBytes(line), ref target);

        Assert.Equal(expected, target.ToString());
    }

    [Theory]
    [InlineData("no captures", "at least one named capture")]
    [InlineData("<_> only", "at least one named capture")]
    [InlineData("<a><b>", "a literal between two captures is required (found <a><b> at position 3)")]
    [InlineData("<a> <a>", "capture names must be unique (<a> appears twice)")]
    public void Pattern_Invalid_Throws(string pattern, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => new PatternExtractor(pattern));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Regexp_NonParticipatingGroup_IsEmpty_InvalidUtf8_Decoded()
    {
        var extractor = new RegexpExtractor("(?P<a>x)|(?P<b>y)", labelNames: true);
        var target = new RecordingTarget([.. extractor.Names]);

        Assert.True(extractor.Extract("y"u8, ref target));
        Assert.Equal("a=;b=y", target.ToString());

        var word = new RegexpExtractor("(?P<w>[a-z]+)$", labelNames: false);
        var other = new RecordingTarget([.. word.Names]);
        Assert.True(word.Extract([0xff, (byte)'o', (byte)'k'], ref other));
        Assert.Equal("w=ok", other.ToString());
    }

    [Fact]
    public void Regexp_GroupNames_LabelNamesOnlyForLogQL()
    {
        Assert.Equal(["é"], new RegexpExtractor("(?<é>x)", labelNames: false).Names);
        Assert.Equal("invalid extracted label name 'é'", Assert.Throws<FormatException>(() => new RegexpExtractor("(?<é>x)", labelNames: true)).Message);
        Assert.Equal("at least one named capture must be supplied", Assert.Throws<FormatException>(() => new RegexpExtractor("(\\d+)", labelNames: true)).Message);
        Assert.StartsWith("invalid regular expression", Assert.Throws<ArgumentException>(() => new RegexpExtractor("(?P<a>", true)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unpack_EntryBecomesLine_StringKeysExtracted()
    {
        var extractor = new UnpackExtractor();
        var target = new RecordingTarget([]);

        Assert.True(extractor.Extract("{\"app\":\"x\",\"n\":1,\"_entry\":\"the \\\"line\\\"\",\"a b\":\"c\"}"u8, ref target, out var entry, out var hasEntry, out _));

        Assert.True(hasEntry);
        Assert.Equal("the \"line\"", Encoding.UTF8.GetString(entry));
        Assert.Equal("app=x;a b=c", target.ToString());
        Assert.False(extractor.Extract("nope"u8, ref target, out _, out _, out var error));
        Assert.NotNull(error);
    }

    [Theory]
    [InlineData("\u001b[31mred\u001b[0m text", "red text")]
    [InlineData("\u001b[1;32mbold green\u001b[m", "bold green")]
    [InlineData("\u001b[2K\u001b[0Gprogress", "progress")]
    [InlineData("dangling \u001b[", "dangling \u001b[")]
    [InlineData("no colors", "no colors")]
    public void Decolorizer_StripsCsiSequences(string text, string expected)
    {
        var buffer = Encoding.UTF8.GetBytes(text);

        var length = Decolorizer.Strip(buffer);

        Assert.Equal(expected, Encoding.UTF8.GetString(buffer, 0, length));
    }

    [Theory]
    [InlineData("level", "level")]
    [InlineData("user-agent", "user_agent")]
    [InlineData("9lives", "_9lives")]
    [InlineData("", "_")]
    [InlineData("é", "_")]
    [InlineData("a😀b", "a_b")]
    public void LabelNames_Sanitize_StringAndUtf8Agree(string key, string expected)
    {
        Assert.Equal(expected, LabelNames.Sanitize(key));
        var buffer = new byte[1];
        var length = LabelNames.AppendSanitized(Encoding.UTF8.GetBytes(key), ref buffer, 0);
        Assert.Equal(expected, Encoding.UTF8.GetString(buffer, 0, length));
    }
}
