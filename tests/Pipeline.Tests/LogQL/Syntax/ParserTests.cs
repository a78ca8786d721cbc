using Pipeline.LogQL;

namespace Pipeline.Tests.LogQL.Syntax;

public sealed class ParserTests
{
    [Theory]
    // Selectors
    [InlineData("{app=\"x\"}", "{app=\"x\"}")]
    [InlineData("{ app = \"x\" , pod!=\"a\", ns=~\"n.*\", c!~`b|c` }", "{app=\"x\", pod!=\"a\", ns=~\"n.*\", c!~\"b|c\"}")]
    [InlineData("{app=\"a\\\"b\\\\c\"}", "{app=\"a\\\"b\\\\c\"}")]
    // Line filters
    [InlineData("{app=\"x\"} |= \"error\" != \"debug\" |~ \"time.*out\" !~ `x+`", "{app=\"x\"} |= \"error\" != \"debug\" |~ \"time.*out\" !~ \"x+\"")]
    [InlineData("{app=\"x\"} |= \"a\" or \"b\"", "{app=\"x\"} |= \"a\" or \"b\"")]
    // Parsers
    [InlineData("{app=\"x\"} | json", "{app=\"x\"} | json")]
    [InlineData("{app=\"x\"} | json a=\"b.c\", d=\"e[0]\", f", "{app=\"x\"} | json a=\"b.c\", d=\"e[0]\", f=\"f\"")]
    [InlineData("{app=\"x\"} | logfmt", "{app=\"x\"} | logfmt")]
    [InlineData("{app=\"x\"} | logfmt --strict --keep-empty", "{app=\"x\"} | logfmt --strict --keep-empty")]
    [InlineData("{app=\"x\"} | logfmt --strict a=\"b\"", "{app=\"x\"} | logfmt --strict a=\"b\"")]
    [InlineData("{app=\"x\"} | regexp \"(?P<method>\\\\w+) (?P<path>\\\\S+)\"", "{app=\"x\"} | regexp \"(?P<method>\\\\w+) (?P<path>\\\\S+)\"")]
    [InlineData("{app=\"x\"} | pattern `<ip> - <_> \"<method> <path>\"`", "{app=\"x\"} | pattern \"<ip> - <_> \\\"<method> <path>\\\"\"")]
    [InlineData("{app=\"x\"} | unpack | decolorize", "{app=\"x\"} | unpack | decolorize")]
    // Label filters
    [InlineData("{app=\"x\"} | json | level=\"error\"", "{app=\"x\"} | json | level=\"error\"")]
    [InlineData("{app=\"x\"} | logfmt | status >= 400 and status < 500", "{app=\"x\"} | logfmt | status>=400 and status<500")]
    [InlineData("{app=\"x\"} | logfmt | duration > 5s or size >= 20MB, method!~\"2..\"", "{app=\"x\"} | logfmt | duration>5s or size>=20MB and method!~\"2..\"")]
    [InlineData("{app=\"x\"} | logfmt | (a=\"1\" or b=\"2\") and c == 3", "{app=\"x\"} | logfmt | (a=\"1\" or b=\"2\") and c==3")]
    [InlineData("{app=\"x\"} | logfmt | c = 3 | d != 4.5", "{app=\"x\"} | logfmt | c==3 | d!=4.5")]
    [InlineData("{app=\"x\"} | json | __error__=\"\"", "{app=\"x\"} | json | __error__=\"\"")]
    // Formatting, drop/keep
    [InlineData("{app=\"x\"} | line_format \"{{.level | ToUpper}} {{.msg}}\"", "{app=\"x\"} | line_format \"{{.level | ToUpper}} {{.msg}}\"")]
    [InlineData("{app=\"x\"} | label_format lvl=level, msg=\"{{.a}}-{{.b}}\"", "{app=\"x\"} | label_format lvl=level, msg=\"{{.a}}-{{.b}}\"")]
    [InlineData("{app=\"x\"} | drop __error__, __error_details__", "{app=\"x\"} | drop __error__, __error_details__")]
    [InlineData("{app=\"x\"} | keep level, pod=~\"web.*\"", "{app=\"x\"} | keep level, pod=~\"web.*\"")]
    // Range aggregations
    [InlineData("count_over_time({app=\"x\"}[5m])", "count_over_time({app=\"x\"} [5m])")]
    [InlineData("rate({app=\"x\"} |= \"err\" [1m])", "rate({app=\"x\"} |= \"err\" [1m])")]
    [InlineData("count_over_time({app=\"x\"}[5m] |= \"err\")", "count_over_time({app=\"x\"} |= \"err\" [5m])")]
    [InlineData("bytes_over_time({app=\"x\"}[90s] offset 1h)", "bytes_over_time({app=\"x\"} [1m30s] offset 1h)")]
    [InlineData("bytes_rate(({app=\"x\"} | json)[1h30m])", "bytes_rate({app=\"x\"} | json [1h30m])")]
    [InlineData("absent_over_time({app=\"x\"}[1d])", "absent_over_time({app=\"x\"} [1d])")]
    [InlineData("sum_over_time({app=\"x\"} | logfmt | unwrap bytes [1m])", "sum_over_time({app=\"x\"} | logfmt | unwrap bytes [1m])")]
    [InlineData("avg_over_time({app=\"x\"} | logfmt | unwrap duration(latency) | __error__=\"\" [1m]) by (pod)", "avg_over_time({app=\"x\"} | logfmt | unwrap duration(latency) | __error__=\"\" [1m]) by (pod)")]
    [InlineData("quantile_over_time(0.99, {app=\"x\"} | json | unwrap bytes(size) [5m]) without (a, b)", "quantile_over_time(0.99, {app=\"x\"} | json | unwrap bytes(size) [5m]) without (a, b)")]
    [InlineData("rate({app=\"x\"} | logfmt | unwrap n [1m])", "rate({app=\"x\"} | logfmt | unwrap n [1m])")]
    [InlineData("min_over_time({app=\"x\"} | logfmt | unwrap n [1m])", "min_over_time({app=\"x\"} | logfmt | unwrap n [1m])")]
    [InlineData("max_over_time({app=\"x\"} | logfmt | unwrap n [1m])", "max_over_time({app=\"x\"} | logfmt | unwrap n [1m])")]
    [InlineData("first_over_time({app=\"x\"} | logfmt | unwrap n [1m])", "first_over_time({app=\"x\"} | logfmt | unwrap n [1m])")]
    [InlineData("last_over_time({app=\"x\"} | logfmt | unwrap n [1m])", "last_over_time({app=\"x\"} | logfmt | unwrap n [1m])")]
    [InlineData("stddev_over_time({app=\"x\"} | logfmt | unwrap n [1m])", "stddev_over_time({app=\"x\"} | logfmt | unwrap n [1m])")]
    [InlineData("stdvar_over_time({app=\"x\"} | logfmt | unwrap n [1m])", "stdvar_over_time({app=\"x\"} | logfmt | unwrap n [1m])")]
    // Vector aggregations
    [InlineData("sum by (level) (count_over_time({app=\"x\"} | drop __error__ [1m]))", "sum by (level) (count_over_time({app=\"x\"} | drop __error__ [1m]))")]
    [InlineData("sum(rate({app=\"x\"}[1m])) by (pod)", "sum by (pod) (rate({app=\"x\"} [1m]))")]
    [InlineData("avg without (pod) (rate({app=\"x\"}[1m]))", "avg without (pod) (rate({app=\"x\"} [1m]))")]
    [InlineData("topk(5, rate({app=\"x\"}[1m]))", "topk(5, rate({app=\"x\"} [1m]))")]
    [InlineData("bottomk by (ns) (2, rate({app=\"x\"}[1m]))", "bottomk by (ns) (2, rate({app=\"x\"} [1m]))")]
    [InlineData("count(min(max(stddev(stdvar(rate({app=\"x\"}[1m]))))))", "count(min(max(stddev(stdvar(rate({app=\"x\"} [1m]))))))")]
    // Binary operations and literals
    [InlineData("vector(1)+vector(1)", "(vector(1) + vector(1))")]
    [InlineData("1 + 2 * 3", "(1 + (2 * 3))")]
    [InlineData("(1 + 2) * 3", "((1 + 2) * 3)")]
    [InlineData("2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))")]
    [InlineData("10 - 2 - 3", "((10 - 2) - 3)")]
    [InlineData("-1.5", "-1.5")]
    [InlineData("7 % 4 / 2", "((7 % 4) / 2)")]
    [InlineData("rate({a=\"b\"}[1m]) > bool 2", "(rate({a=\"b\"} [1m]) > bool 2)")]
    [InlineData("rate({a=\"b\"}[1m]) / on (pod) rate({a=\"c\"}[1m])", "(rate({a=\"b\"} [1m]) / on (pod) rate({a=\"c\"} [1m]))")]
    [InlineData("rate({a=\"b\"}[1m]) + ignoring (x) rate({a=\"c\"}[1m])", "(rate({a=\"b\"} [1m]) + ignoring (x) rate({a=\"c\"} [1m]))")]
    [InlineData("rate({a=\"b\"}[1m]) and rate({a=\"c\"}[1m]) or vector(0) unless vector(1)", "((rate({a=\"b\"} [1m]) and rate({a=\"c\"} [1m])) or (vector(0) unless vector(1)))")]
    [InlineData("rate({a=\"b\"}[1m]) == 1 or rate({a=\"b\"}[1m]) != 2", "((rate({a=\"b\"} [1m]) == 1) or (rate({a=\"b\"} [1m]) != 2))")]
    [InlineData("sum(rate({a=\"b\"}[1m])) >= 1 <= 2", "((sum(rate({a=\"b\"} [1m])) >= 1) <= 2)")]
    [InlineData("# comment\n{app=\"x\"}", "{app=\"x\"}")]
    [InlineData("label_replace(rate({a=\"b\"}[1m]), \"dst\", \"$1-${x}\", \"src\", \"(.*)-(?P<x>.*)\")", "label_replace(rate({a=\"b\"} [1m]), \"dst\", \"$1-${x}\", \"src\", \"(.*)-(?P<x>.*)\")")]
    [InlineData("count_values(\"v\", rate({a=\"b\"}[1m]))", "count_values(\"v\", rate({a=\"b\"} [1m]))")]
    [InlineData("count_values by (pod) (\"v\", rate({a=\"b\"}[1m]))", "count_values by (pod) (\"v\", rate({a=\"b\"} [1m]))")]
    [InlineData("rate({a=\"b\"}[1m]) / on (pod) group_left (x, y) rate({a=\"c\"}[1m])", "(rate({a=\"b\"} [1m]) / on (pod) group_left (x, y) rate({a=\"c\"} [1m]))")]
    [InlineData("rate({a=\"b\"}[1m]) > bool ignoring (pod) group_right rate({a=\"c\"}[1m])", "(rate({a=\"b\"} [1m]) > bool ignoring (pod) group_right () rate({a=\"c\"} [1m]))")]
    [InlineData("{a=\"b\"} | json | distinct x,y", "{a=\"b\"} | json | distinct x, y")]
    public void Parse_ValidQuery_CanonicalForm(string query, string expected)
    {
        var parsed = LogQLQuery.Parse(query);
        Assert.Equal(expected, parsed.ToString());

        // The canonical form parses to itself.
        Assert.Equal(expected, LogQLQuery.Parse(expected).ToString());
    }

    [Theory]
    [InlineData("{app}", "parse error at line 1, col 5: syntax error: unexpected }, expecting = or =~ or !~ or !=")]
    [InlineData("{app=\"x\"", "parse error at line 1, col 9: syntax error: unexpected $end, expecting , or }")]
    [InlineData("{app=x}", "parse error at line 1, col 6: syntax error: unexpected IDENTIFIER, expecting STRING")]
    [InlineData("{app=\"x\"} foo", "parse error at line 1, col 11: syntax error: unexpected IDENTIFIER")]
    [InlineData("sum({job=\"mysql\"})", "parse error at line 1, col 18: syntax error: unexpected )")]
    [InlineData("count_over_time({app=\"x\"})", "parse error at line 1, col 26: syntax error: unexpected ), expecting [")]
    [InlineData("count_over_time({app=\"x\"}[5x])", "parse error at line 1, col 27: syntax error: invalid number, duration or byte size '5x'")]
    [InlineData("{app=\"x\"}\n |= \"a\" | json |", "parse error at line 2, col 17: syntax error: unexpected $end")]
    [InlineData("{app=\"x\"} | logfmt --fast", "parse error at line 1, col 20: syntax error: invalid logfmt flag '--fast', expecting --strict or --keep-empty")]
    [InlineData("{app=\"x\"} | status >", "parse error at line 1, col 21: syntax error: unexpected $end, expecting STRING or NUMBER or DURATION or BYTES")]
    [InlineData("{app=\"x\"} | regexp \"(\\\\d+)\"", "parse error at line 1, col 20: at least one named capture must be supplied")]
    [InlineData("{app=\"x\"} | line_format \"{{.a | nope}}\"", "parse error at line 1, col 25: invalid template '{{.a | nope}}': function \"nope\" not defined")]
    [InlineData("{app=~\".*\"}", "parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will")]
    [InlineData("{}", "parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will")]
    [InlineData("sum_over_time({app=\"x\"}[1m])", "parse error : invalid aggregation sum_over_time without unwrap")]
    [InlineData("count_over_time({app=\"x\"} | logfmt | unwrap n [1m])", "parse error : invalid aggregation count_over_time with unwrap")]
    [InlineData("count_over_time({app=\"x\"}[1m]) by (a)", "parse error : grouping not allowed for count_over_time aggregation")]
    [InlineData("{app=\"x\"} | unwrap n", "parse error at line 1, col 13: syntax error: unexpected unwrap")]
    [InlineData("topk(0, rate({a=\"b\"}[1m]))", "parse error at line 1, col 6: invalid parameter for topk: must be a positive integer, got 0")]
    [InlineData("{app=\"x\"} + 1", "parse error at line 1, col 11: syntax error: unexpected +")]
    [InlineData("", "parse error at line 1, col 1: syntax error: unexpected $end")]
    [InlineData("{app=\"x\"} |~ \"(\"", "parse error at line 1, col 14: invalid regular expression '(': Invalid pattern '(' at offset 1. Not enough )'s.")]
    [InlineData("vector(1) and 1", "parse error : set operator \"and\" not allowed in binary scalar expression")]
    [InlineData("label_replace(rate({a=\"b\"}[1m]), \"1dst\", \"\", \"src\", \"\")", "parse error at line 1, col 34: invalid destination label name in label_replace(): 1dst")]
    [InlineData("label_replace(rate({a=\"b\"}[1m]), \"dst\", \"\", \"src\", \"(\")", "parse error at line 1, col 52: invalid regular expression '(': Invalid pattern '^(?:()\\z' at offset 8. Not enough )'s.")]
    [InlineData("label_replace(rate({a=\"b\"}[1m]), \"dst\", \"\", \"src\")", "parse error at line 1, col 50: syntax error: unexpected ), expecting ,")]
    [InlineData("count_values(\"a-b\", rate({a=\"b\"}[1m]))", "parse error at line 1, col 14: invalid label name \"a-b\"")]
    [InlineData("vector(1) and on (a) group_left vector(1)", "parse error : no grouping allowed for \"and\" operation")]
    [InlineData("vector(1) + on (a) group_left (b, a) vector(1)", "parse error : label \"a\" must not occur in ON and GROUP clause at once")]
    [InlineData("count_over_time({a=\"b\"} | distinct x [1m])", "parse error : distinct is only supported in log queries")]
    public void Parse_InvalidQuery_LokiStyleError(string query, string expected)
    {
        var ex = Assert.Throws<LogQLParseException>(() => LogQLQuery.Parse(query));
        Assert.Equal(expected, ex.Message);
    }

    [Fact]
    public void ParseSelector_Matchers_AnchoredRegex()
    {
        var matchers = LogQLQuery.ParseSelector("{app=\"api\", pod=~\"web-.*\"}");
        Assert.Equal(2, matchers.Count);
        Assert.True(matchers[0].IsIndexable);
        Assert.True(matchers[1].Matches("web-1"));
        Assert.False(matchers[1].Matches("xweb-1"));
        Assert.False(matchers[1].Matches("web-1\nx"));
        Assert.False(matchers[1].Matches("web-1\n"));
    }

    [Fact]
    public void GetSelectors_BinaryOfTwoRanges_BothSelectors()
    {
        var query = LogQLQuery.Parse("rate({a=\"b\"}[1m]) / rate({c=\"d\"}[1m])");
        Assert.False(query.IsLogQuery);
        var selectors = query.GetSelectors();
        Assert.Equal(2, selectors.Count);
        Assert.Equal("c", selectors[1][0].Name);
    }
}
