using Pipeline.Aggregator.LogQL;
using Pipeline.LogQL;
using static Pipeline.Aggregator.Tests.LogQL.LogQLFixture;

namespace Pipeline.Aggregator.Tests.LogQL;

public sealed class LogQueryTests
{
    private const string L1 = "{app=\"x\", namespace=\"a\", pod=\"p1\"}";
    private const string L2 = "{app=\"x\", namespace=\"a\", pod=\"p2\"}";

    [Fact]
    public void Backward_Limit_NewestAcrossStreams()
    {
        var lines = Logs("{app=\"x\"}", Direction.Backward, limit: 3);
        Assert.Equal([$"60 {L1} {P1Lines[5]}", $"50 {L1} {P1Lines[4]}", $"40 {L1} {P1Lines[3]}"], lines);
    }

    [Fact]
    public void Distinct_FirstLinePerValue_LinesWithoutTheLabelKept()
    {
        var lines = Logs("{pod=\"p1\"} | logfmt | distinct level", Direction.Forward, limit: 100);
        Assert.Equal(3, lines.Count);
        Assert.Equal(6, Logs("{pod=\"p1\"} | logfmt | distinct nope", Direction.Forward, limit: 100).Count);
        Assert.Single(Logs("{app=\"x\"} | distinct app, namespace", Direction.Forward, limit: 100));
    }

    [Fact]
    public void Forward_Limit_OldestAcrossStreams()
    {
        var lines = Logs("{app=\"x\"}", Direction.Forward, limit: 3);
        Assert.Equal([$"5 {L2} {P2Lines[0]}", $"10 {L1} {P1Lines[0]}", $"15 {L2} {P2Lines[1]}"], lines);
    }

    [Fact]
    public void TimeRange_StartInclusiveEndExclusive()
    {
        var lines = Logs("{pod=\"p1\"}", Direction.Forward, startSec: 20, endSec: 40);
        Assert.Equal(2, lines.Count);
        Assert.StartsWith("20 ", lines[0]);
        Assert.StartsWith("30 ", lines[1]);
    }

    [Fact]
    public void Logcli_PagingBackward_EveryEntryOnceNewestFirst()
    {
        var engine = Engine();
        var end = T0 + 100 * Second;
        var seen = new List<long>();
        while (true)
        {
            var page = (StreamsResult)engine.QueryRange(Tenant, "{app=\"x\"}", T0, end, Second, 3, Direction.Backward);
            var timestamps = page.Streams.SelectMany(s => s.Entries).Select(e => e.TimestampNs).OrderDescending().ToList();
            seen.AddRange(timestamps);
            if (timestamps.Count < 3)
            {
                break;
            }

            // logcli continues from the oldest timestamp of the page (end is exclusive).
            end = timestamps[^1];
        }

        Assert.Equal(10, seen.Count);
        Assert.Equal(seen.OrderDescending(), seen);
        Assert.Equal(seen.Count, seen.Distinct().Count());
    }

    [Theory]
    [InlineData("{app=\"x\"} |= \"error\"", 3)]
    [InlineData("{app=\"x\"} != \"error\"", 7)]
    [InlineData("{app=\"x\"} |~ \"fail|boom\"", 2)]
    [InlineData("{app=\"x\"} !~ \"fail|boom\"", 8)]
    [InlineData("{app=\"x\"} |= \"boom\" or \"bye\"", 2)]
    [InlineData("{app=\"x\"} != \"boom\" or \"bye\"", 8)]
    [InlineData("{app=\"x\"} |= \"level\" |= \"error\" != \"again\"", 2)]
    [InlineData("{app=\"x\"} |~ \"(?i)ERROR\"", 3)]
    [InlineData("{app=\"x\"} |= \"\"", 10)]
    [InlineData("{app=~\"x|y\"}", 13)]
    [InlineData("{app=\"x\", pod!=\"p1\"}", 4)]
    [InlineData("{app=\"x\", pod!~\"p[12]\"}", 0)]
    [InlineData("{pod=~\"p\"}", 0)]
    public void LineFiltersAndSelectors_Count(string query, int expected)
    {
        Assert.Equal(expected, Logs(query).Count);
    }

    [Fact]
    public void Tenants_AreIsolated()
    {
        Assert.Empty(Logs("{app=\"x\"} |= \"secret\""));
        var other = (StreamsResult)Engine().QueryRange("other", "{app=\"x\"}", T0, T0 + 100 * Second, Second, 10, Direction.Backward);
        Assert.Equal("secret", Assert.Single(Assert.Single(other.Streams).Entries).Line);
    }

    [Fact]
    public void Json_ExtractsFlattened_AndMarksErrors()
    {
        var lines = Logs("{pod=\"p2\"} | json", Direction.Forward);
        Assert.Equal($"5 {{app=\"x\", level=\"error\", msg=\"boom\", namespace=\"a\", pod=\"p2\", user_id=\"7\", user_name=\"ann\"}} {P2Lines[0]}", lines[0]);
        Assert.StartsWith("15 {__error__=\"JSONParserErr\", __error_details__=", lines[1]);
        Assert.Equal(4, lines.Count);
    }

    [Fact]
    public void Json_ErrorFilterAndDrop()
    {
        Assert.Equal(3, Logs("{pod=\"p2\"} | json | __error__=\"\"").Count);
        var dropped = Logs("{pod=\"p2\"} | json | drop __error__, __error_details__");
        Assert.Equal(4, dropped.Count);
        Assert.DoesNotContain(dropped, l => l.Contains("__error", StringComparison.Ordinal));
        Assert.Single(Logs("{pod=\"p2\"} | json | __error__=\"JSONParserErr\""));
        Assert.DoesNotContain(Logs("{pod=\"p2\"} | json | drop __error__"), l => l.Contains("__error", StringComparison.Ordinal));
    }

    [Fact]
    public void Json_WithParameters_ExtractsPaths()
    {
        var lines = Logs("{pod=\"p2\"} | json lvl=\"level\", name=\"user.name\", first=\"tags[0]\" | __error__=\"\"", Direction.Forward, limit: 1);
        Assert.Equal($"5 {{app=\"x\", first=\"a\", lvl=\"error\", name=\"ann\", namespace=\"a\", pod=\"p2\"}} {P2Lines[0]}", lines[0]);
    }

    [Fact]
    public void Json_ConflictingKey_GetsExtractedSuffix()
    {
        var store = new InMemoryLogStore();
        store.Append(Tenant, P1, T0 + Second, "{\"pod\":\"inner\"}");
        var lines = Logs("{pod=\"p1\"} | json", engine: new LogQLEngine(store));
        Assert.Contains("pod_extracted=\"inner\"", Assert.Single(lines), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{pod=\"p1\"} | logfmt | status >= 500", 2)]
    [InlineData("{pod=\"p1\"} | logfmt | status == 200", 2)]
    [InlineData("{pod=\"p1\"} | logfmt | status != 200", 4)]
    [InlineData("{pod=\"p1\"} | logfmt | latency > 200ms", 2)]
    [InlineData("{pod=\"p1\"} | logfmt | latency <= 20ms", 3)]
    [InlineData("{pod=\"p1\"} | logfmt | size > 1KB", 3)]
    [InlineData("{pod=\"p1\"} | logfmt | size < 1KiB", 3)]
    [InlineData("{pod=\"p1\"} | logfmt | level=\"error\" or level=\"warn\"", 3)]
    [InlineData("{pod=\"p1\"} | logfmt | level=\"error\", status > 500", 1)]
    [InlineData("{pod=\"p1\"} | logfmt | level=~\"err.*\" and status < 501", 1)]
    [InlineData("{pod=\"p1\"} | logfmt | (level=\"info\" or level=\"warn\") and status >= 201", 2)]
    [InlineData("{pod=\"p1\"} | logfmt | missing > 1", 0)]
    [InlineData("{pod=\"p1\"} | logfmt status | status >= 500", 2)]
    public void Logfmt_LabelFilters_Count(string query, int expected)
    {
        Assert.Equal(expected, Logs(query).Count);
    }

    [Fact]
    public void NumericFilter_OnNonNumber_KeepsLineWithLabelFilterErr()
    {
        var lines = Logs("{pod=\"p1\"} | logfmt | level > 1");
        Assert.Equal(6, lines.Count);
        Assert.All(lines, l => Assert.Contains("__error__=\"LabelFilterErr\"", l, StringComparison.Ordinal));
    }

    [Fact]
    public void Logfmt_Strict_ReportsError()
    {
        var store = new InMemoryLogStore();
        store.Append(Tenant, P1, T0 + Second, "a=1 =oops b=2");
        var engine = new LogQLEngine(store);
        Assert.Contains("b=\"2\"", Assert.Single(Logs("{pod=\"p1\"} | logfmt", engine: engine)), StringComparison.Ordinal);
        Assert.Contains("__error__=\"LogfmtParserErr\"", Assert.Single(Logs("{pod=\"p1\"} | logfmt --strict", engine: engine)), StringComparison.Ordinal);
    }

    [Fact]
    public void Pattern_ExtractsCaptures()
    {
        var lines = Logs("{pod=\"p3\"} | pattern \"<method> <path> <status> <_>\" | status=\"500\"");
        Assert.Equal("40 {app=\"y\", method=\"POST\", namespace=\"b\", path=\"/api\", pod=\"p3\", status=\"500\"} POST /api 500 300ms", Assert.Single(lines));
    }

    [Fact]
    public void Regexp_ExtractsNamedGroups()
    {
        var lines = Logs("{pod=\"p3\"} | regexp \"(?P<method>\\\\w+) (?P<path>\\\\S+)\" | method=\"GET\"");
        Assert.Equal("20 {app=\"y\", method=\"GET\", namespace=\"b\", path=\"/index.html\", pod=\"p3\"} GET /index.html 200 12ms", Assert.Single(lines));
    }

    [Theory]
    [InlineData("| line_format \"{{.level | ToUpper}}: {{.msg}}\"", "ERROR: failed")]
    [InlineData("| line_format \"{{ ToLower .level }} {{printf \\\"%s=%d\\\" .msg .status}}\"", "error failed=500")]
    [InlineData("| line_format \"{{ Replace .msg \\\"fail\\\" \\\"pass\\\" -1 }}\"", "passed")]
    [InlineData("| line_format \"[{{ TrimSpace \\\"  x  \\\" }}]\"", "[x]")]
    [InlineData("| line_format \"{{ regexReplaceAll \\\"(\\\\\\\\d+)ms\\\" .latency \\\"${1} millis\\\" }}\"", "250 millis")]
    [InlineData("| line_format \"{{.missing}}|{{ default \\\"none\\\" .missing }}\"", "|none")]
    [InlineData("| line_format \"{{- .level -}} !\"", "error!")]
    [InlineData("| line_format \"{{__line__}}\" |= \"failed\"", "level=error msg=\"failed\" status=500 latency=250ms size=2KB")]
    [InlineData("| line_format \"{{ if eq .level \\\"error\\\" }}E{{ else }}{{ .level }}{{ end }} {{ TrimSuffix .latency \\\"ms\\\" }}\"", "E 250")]
    [InlineData("| line_format \"{{ .msg | upper | printf \\\"%s!\\\" }}\"", "FAILED!")]
    public void LineFormat_Templates(string stages, string expected)
    {
        var lines = Logs("{pod=\"p1\"} | logfmt " + stages + " | status=\"500\"");
        Assert.EndsWith(" " + expected, Assert.Single(lines), StringComparison.Ordinal);
    }

    [Fact]
    public void LineFormat_ThenLineFilter_FiltersRewrittenLine()
    {
        Assert.Equal(2, Logs("{pod=\"p1\"} | logfmt | line_format \"{{.level}}\" |= \"error\"").Count);
    }

    [Fact]
    public void LabelFormat_RenameAndTemplate_ThenKeep()
    {
        var lines = Logs("{pod=\"p1\"} | logfmt | label_format lvl=level, combo=\"{{.level}}-{{.status}}\" | keep lvl, combo | lvl=\"error\"", Direction.Forward);
        Assert.Equal(2, lines.Count);
        Assert.StartsWith("20 {combo=\"error-500\", lvl=\"error\"} ", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Drop_NameAndMatcher()
    {
        var lines = Logs("{pod=\"p1\"} | logfmt | drop msg, latency, size, status, level=\"info\", namespace=~\"b.*\"", Direction.Forward);
        Assert.StartsWith("10 {app=\"x\", namespace=\"a\", pod=\"p1\"} ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("20 {app=\"x\", level=\"error\", namespace=\"a\", pod=\"p1\"} ", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Decolorize_RemovesAnsi_AndMetadataBecomesLabel()
    {
        var line = Assert.Single(Logs("{pod=\"p3\"} |= \"red\" | decolorize"));
        Assert.Equal("50 {app=\"y\", namespace=\"b\", pod=\"p3\", trace_id=\"t-1\"} red error", line);
        Assert.Single(Logs("{pod=\"p3\"} | trace_id=\"t-1\""));
    }

    [Fact]
    public void Unpack_EntryBecomesLine()
    {
        var line = Assert.Single(Logs("{pod=\"p2\"} | unpack | trace=\"abc\""));
        Assert.Equal("35 {app=\"x\", level=\"debug\", namespace=\"a\", pod=\"p2\", trace=\"abc\"} inner line", line);
    }

    [Fact]
    public void Statistics_CountScannedLinesAndBytes()
    {
        var result = Engine().QueryRange(Tenant, "{pod=\"p3\"}", T0, T0 + 100 * Second, Second, 100, Direction.Forward);
        Assert.Equal(3, result.Statistics.LinesScanned);
        Assert.Equal(P3Lines.Sum(l => System.Text.Encoding.UTF8.GetByteCount(l)), result.Statistics.BytesScanned);
        Assert.Equal(1, result.Statistics.StreamsSelected);
        Assert.Equal(3, result.Statistics.ResultCount);
    }

    [Fact]
    public void Limit_StopsReading()
    {
        var store = new InMemoryLogStore();
        for (var i = 0; i < 10_000; i++)
        {
            store.Append(Tenant, P1, T0 + i, "line " + i);
        }

        var result = new LogQLEngine(store).QueryRange(Tenant, "{pod=\"p1\"}", T0, T0 + Second, Second, 5, Direction.Backward);
        Assert.Equal(5, result.Statistics.LinesScanned);
        Assert.Equal("line 9999", ((StreamsResult)result).Streams[0].Entries[0].Line);
    }

    [Fact]
    public void Limit_AboveMax_Rejected()
    {
        var ex = Assert.Throws<LogQLLimitException>(() => Engine().QueryRange(Tenant, "{app=\"x\"}", T0, T0 + Second, Second, 5001, Direction.Backward));
        Assert.Equal("max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)", ex.Message);
    }

    [Fact]
    public void InstantLogQuery_Rejected()
    {
        Assert.Throws<LogQLException>(() => Engine().QueryInstant(Tenant, "{app=\"x\"}", T0));
    }
    [Fact]
    public void Parsers_FirstParsedValueWins_AcrossKeysAndParsers()
    {
        var store = new InMemoryLogStore();
        store.Append(Tenant, P1, T0 + Second, "level=warn level=error {\"level\":\"x\"}");
        var engine = new LogQLEngine(store);

        Assert.Contains("level=\"warn\"", Assert.Single(Logs("{pod=\"p1\"} | logfmt", engine: engine)), StringComparison.Ordinal);
        Assert.Contains("level=\"error\"", Assert.Single(Logs("{pod=\"p1\"} | regexp \"(?P<level>error)\" | logfmt", engine: engine)), StringComparison.Ordinal);
    }

    [Fact]
    public void Logfmt_MalformedPair_SkippedAsLokiDoes()
    {
        var store = new InMemoryLogStore();
        store.Append(Tenant, P1, T0 + Second, "a=b=c x=1 k\"ey=v y=\"two words\"");

        var line = Assert.Single(Logs("{pod=\"p1\"} | logfmt", engine: new LogQLEngine(store)));

        Assert.StartsWith("1 {app=\"x\", namespace=\"a\", pod=\"p1\", x=\"1\", y=\"two words\"} ", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_ParameterNullOrMissing_EmptyLabel_NoError()
    {
        var lines = Logs("{pod=\"p2\"} | json lvl=\"level\", nope=\"user.missing\" | __error__=\"\"", Direction.Forward, limit: 1);

        Assert.Equal($"5 {{app=\"x\", lvl=\"error\", namespace=\"a\", pod=\"p2\"}} {P2Lines[0]}", Assert.Single(lines));
    }

    [Fact]
    public void Parsers_KeyInStructuredMetadata_GetsExtractedSuffix()
    {
        var store = new InMemoryLogStore();
        store.Append(Tenant, P1, T0 + Second, "trace_id=from-line", Pipeline.Model.LabelSet.Parse("{trace_id=\"from-metadata\"}"));

        var line = Assert.Single(Logs("{pod=\"p1\"} | logfmt", engine: new LogQLEngine(store)));

        Assert.Contains("trace_id=\"from-metadata\", trace_id_extracted=\"from-line\"", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Pattern_LiteralNotFound_CaptureTakesTheRest()
    {
        var line = Assert.Single(Logs("{pod=\"p3\"} | pattern \"<method> <path>: <x>\" | method=\"GET\""));

        Assert.StartsWith("20 {app=\"y\", method=\"GET\", namespace=\"b\", path=\"/index.html 200 12ms\", pod=\"p3\"} ", line, StringComparison.Ordinal);
    }

    [Fact]
    public void Regexp_ConstructOutsideRe2_ParseErrorNamesIt()
    {
        var ex = Assert.Throws<LogQLParseException>(() => LogQLQuery.Parse("{app=\"x\"} |~ \"(a)\\\\1\""));

        Assert.Equal("parse error at line 1, col 14: invalid regular expression '(a)\\1': \\1 at position 3 is not supported: RE2 has no backreferences", ex.Message);
    }
}
