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

public sealed class IpMatcherTests
{
    [Theory]
    [InlineData("192.168.0.1", "192.168.0.1", true)]
    [InlineData("192.168.0.1", "192.168.0.2", false)]
    [InlineData("10.0.0.0/8", "10.255.3.4", true)]
    [InlineData("10.0.0.0/8", "11.0.0.1", false)]
    [InlineData("192.168.0.1-192.168.0.20", "192.168.0.9", true)]
    [InlineData("192.168.0.1-192.168.0.20", "192.168.0.21", false)]
    [InlineData("2001:db8::/32", "2001:db8::1", true)]
    [InlineData("2001:db8::/32", "10.0.0.1", false)]
    [InlineData("10.0.0.0/8", "not an address", false)]
    public void Matches(string pattern, string value, bool expected) => Assert.Equal(expected, new IpMatcher(pattern).Matches(value));

    [Theory]
    [InlineData("{app=\"a\"} | addr = ip(\"10.0.0.0/8\")", "{app=\"a\"} | addr=ip(\"10.0.0.0/8\")")]
    [InlineData("{app=\"a\"} | logfmt | addr != ip(\"10.0.0.1-10.0.0.9\")", "{app=\"a\"} | logfmt | addr!=ip(\"10.0.0.1-10.0.0.9\")")]
    public void Parse_IpFilter_RoundTrip(string query, string canonical) => Assert.Equal(canonical, LogQLQuery.Parse(query).ToString());

    [Fact]
    public void Parse_BadIpPattern_ParseError()
    {
        var ex = Assert.Throws<LogQLParseException>(() => LogQLQuery.Parse("{app=\"a\"} | addr = ip(\"10.0.0.0/99\")"));
        Assert.Contains("invalid ip pattern", ex.Message, StringComparison.Ordinal);
    }
}
