using System.Text;
using Pipeline.LogQL;
using Pipeline.LogQL.Re2;
using Pipeline.LogQL.Templates;

namespace Pipeline.Tests.LogQL.Syntax;

/// <summary>Queries built to hurt the parser: each is refused with a parse error, none can overflow the stack.</summary>
public sealed class HostileQueryTests
{
    private const string Selector = "{app=\"a\"}";

    public static TheoryData<string, string> Deep() => new()
    {
        { new string('(', 50_000) + "1" + new string(')', 50_000), "query nests too deeply (more than 256 levels)" },
        { Repeat("sum(", 10_000) + "count_over_time(" + Selector + "[1m])" + new string(')', 10_000), "query nests too deeply" },
        { string.Join(" + ", Enumerable.Repeat("1", 20_000)), "query nests too deeply" },
        { new string('-', 60_000) + "1", "query nests too deeply" },
        { Selector + " | " + new string('(', 40_000) + "a=\"1\"" + new string(')', 40_000), "query nests too deeply" },
        { Selector + " | " + string.Join(" and ", Enumerable.Repeat("a=\"1\"", 5_000)), "query nests too deeply" },
        { "count_over_time(" + new string('(', 40_000) + Selector + "[1m]" + new string(')', 40_000) + ")", "query nests too deeply" },
    };

    [Theory]
    [MemberData(nameof(Deep))]
    public void Parse_DeepQuery_ParseErrorNotStackOverflow(string query, string message)
    {
        var ex = Assert.Throws<LogQLParseException>(() => LogQLQuery.Parse(query));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_NestingAtTheLimit_Parses()
    {
        var query = Repeat("sum(", 100) + "count_over_time(" + Selector + "[1m])" + new string(')', 100);
        Assert.False(LogQLQuery.Parse(query).IsLogQuery);
        Assert.NotNull(LogQLQuery.Parse(string.Join(" + ", Enumerable.Repeat("1", 200))));
    }

    [Fact]
    public void Parse_OverSizeLimit_LokiMessage()
    {
        var query = Selector + " |= \"" + new string('x', 128 * 1024) + "\"";
        var ex = Assert.Throws<LogQLParseException>(() => LogQLQuery.Parse(query));
        Assert.Equal($"parse error : input size too long ({Encoding.UTF8.GetByteCount(query)} > 131072)", ex.Message);
    }

    [Theory]
    [InlineData("{app=\"a\0\"}", "parse error at line 1, col 8: invalid character NUL")]
    [InlineData("{app=\"a\uFFFD\"}", "parse error at line 1, col 8: invalid UTF-8 encoding")]
    [InlineData("{app=\"b\uD800\"}", "parse error at line 1, col 8: invalid UTF-8 encoding")]
    [InlineData("{app=\"c\uDC00\"}", "parse error at line 1, col 8: invalid UTF-8 encoding")]
    public void Parse_NulOrNotUtf8_ParseError(string query, string message)
    {
        var ex = Assert.Throws<LogQLParseException>(() => LogQLQuery.Parse(query));
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void Parse_SurrogatePair_Accepted()
    {
        Assert.NotNull(LogQLQuery.Parse("{app=\"a\U0001F600\"}"));
    }

    [Fact]
    public void Template_DeepIf_FormatExceptionNotStackOverflow()
    {
        var template = Repeat("{{if .a}}", 30_000) + "x" + Repeat("{{end}}", 30_000);
        var ex = Assert.Throws<FormatException>(() => GoTemplate.Parse(template, TemplateFunctions.LogQL));
        Assert.Contains("template nests too deeply (more than 256 levels)", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(GoTemplate.Parse(Repeat("{{if .a}}", 200) + "x" + Repeat("{{end}}", 200), TemplateFunctions.LogQL));
    }

    [Fact]
    public void LineFormat_DeepIfInQuery_ParseError()
    {
        var query = Selector + " | line_format `" + Repeat("{{if .a}}", 5_000) + Repeat("{{end}}", 5_000) + "`";
        var ex = Assert.Throws<LogQLParseException>(() => LogQLQuery.Parse(query));
        Assert.Contains("template nests too deeply", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a{1001}", "RE2 allows at most 1000")]
    [InlineData("(a{100}){100}", "nested repetitions repeat 10000 times")]
    [InlineData("((a{10}){10}){11}", "nested repetitions repeat 1100 times")]
    public void Re2_RepetitionOverLimit_Refused(string pattern, string message)
    {
        var ex = Assert.Throws<ArgumentException>(() => Re2Regex.Compile(pattern));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("(a{10}){100}")]
    [InlineData("(a{1000})(b{1000})")]
    [InlineData("(a{100})x{10}")]
    public void Re2_RepetitionWithinLimit_Compiles(string pattern) => Assert.NotNull(Re2Regex.Compile(pattern));

    [Fact]
    public void Re2_DeepGroups_Refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => Re2Regex.Compile(new string('(', 20_000) + "a" + new string(')', 20_000)));
        Assert.Contains("expression nests too deeply", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LineFilter_DeepRegex_ParseError()
    {
        var query = Selector + " |~ \"" + new string('(', 30_000) + new string(')', 30_000) + "\"";
        var ex = Assert.Throws<LogQLParseException>(() => LogQLQuery.Parse(query));
        Assert.Contains("expression nests too deeply", ex.Message, StringComparison.Ordinal);
    }

    private static string Repeat(string text, int count) => new StringBuilder(text.Length * count).Insert(0, text, count).ToString();
}
