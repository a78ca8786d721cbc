using System.Text;
using Pipeline.LogQL.Matching;
using Pipeline.LogQL.Syntax;

namespace Pipeline.Tests.LogQL.Matching;

public sealed class LineFilterTests
{
    [Theory]
    [InlineData("|~", "upstream|cache", "a cache miss", true)]
    [InlineData("|~", "upstream|cache", "upstream down", true)]
    [InlineData("|~", "upstream|cache", "all fine", false)]
    [InlineData("|~", "upstream|", "all fine", true)]
    [InlineData("!~", "upstream|cache", "a cache miss", false)]
    [InlineData("!~", "upstream|cache", "all fine", true)]
    [InlineData("|=", "a|b", "a or b", false)]
    [InlineData("|=", "a|b", "x a|b y", true)]
    [InlineData("|~", "(up|down)stream", "downstream", true)]
    [InlineData("|~", "err.*time", "error: timeout", true)]
    [InlineData("|~", "err.*time", "time error", false)]
    public void Matches_AsRe2(string op, string value, string line, bool expected)
    {
        var kind = op switch { "|~" => LineFilterOp.Match, "!~" => LineFilterOp.NotMatch, _ => LineFilterOp.Contains };
        var filter = new LineFilter(new LineFilterExpr(kind, [value]));

        Assert.Equal(expected, filter.Matches(Encoding.UTF8.GetBytes(line)));
    }

    [Fact]
    public void Matches_OrOfAlternations_AnyAlternative()
    {
        var filter = new LineFilter(new LineFilterExpr(LineFilterOp.Match, ["a1|a2", "b1"]));

        Assert.True(filter.Matches("x a2"u8));
        Assert.True(filter.Matches("x b1"u8));
        Assert.False(filter.Matches("x a3"u8));
    }
}
