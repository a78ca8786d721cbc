using System.Text;
using Pipeline.LogQL;
using Pipeline.LogQL.Matching;
using Pipeline.LogQL.Syntax;

namespace Pipeline.Tests.LogQL.Matching;

public sealed class PatternLineFilterTests
{
    [Theory]
    [InlineData("<_> bar", "foo bar baz", false)]
    [InlineData("<_> baz", "foo bar baz", true)]
    [InlineData("foo <_>", "foo bar baz", true)]
    [InlineData("<_> bar <_>", " bar ", false)]
    [InlineData("<_>bar<_>", " bar ", true)]
    [InlineData("<_> GET <_> 500 <_>", "10.0.0.1 GET /api 500 12ms", true)]
    [InlineData("<_> GET <_> 500 <_>", "10.0.0.1 GET /api 200 12ms", false)]
    [InlineData("<_>", "", false)]
    public void Test_AsLoki(string pattern, string line, bool expected)
    {
        var filter = new LineFilter(new LineFilterExpr(LineFilterOp.Pattern, [pattern]));
        Assert.Equal(expected, filter.Matches(Encoding.UTF8.GetBytes(line)));
        var negated = new LineFilter(new LineFilterExpr(LineFilterOp.NotPattern, [pattern]));
        Assert.Equal(!expected, negated.Matches(Encoding.UTF8.GetBytes(line)));
    }

    [Theory]
    [InlineData("{app=\"a\"} |> \"<_> error <_>\"", "{app=\"a\"} |> \"<_> error <_>\"")]
    [InlineData("{app=\"a\"} !> \"<_> 200 <_>\" or \"<_> 204 <_>\"", "{app=\"a\"} !> \"<_> 200 <_>\" or \"<_> 204 <_>\"")]
    public void Parse_PatternFilters_RoundTrip(string query, string canonical) =>
        Assert.Equal(canonical, LogQLQuery.Parse(query).ToString());

    [Fact]
    public void Parse_NamedCaptureInLineFilter_Refused()
    {
        var ex = Assert.Throws<LogQLParseException>(() => LogQLQuery.Parse("{app=\"a\"} |> \"<ip> GET\""));
        Assert.Contains("named captures are not allowed: found '<ip>'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SortWithGrouping_Refused()
    {
        Assert.NotNull(LogQLQuery.Parse("sort_desc(sum by (a) (count_over_time({app=\"a\"}[1m])))"));
        Assert.Throws<LogQLParseException>(() => LogQLQuery.Parse("sort by (a) (count_over_time({app=\"a\"}[1m]))"));
    }
}
