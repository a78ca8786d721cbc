using Pipeline.Aggregator.LogQL;
using Pipeline.Model;
using static Pipeline.Aggregator.Tests.LogQL.LogQLFixture;

namespace Pipeline.Aggregator.Tests.LogQL;

/// <summary>
/// <c>| json</c> under a grouping extracts only the keys of the labels the query reads and stops reading a line once it
/// has them all (Loki's short-circuit); the answers are those of extracting every key.
/// </summary>
public sealed class JsonPushDownTests
{
    private static readonly LabelSet s_stream = LabelSet.Parse("{app=\"j\", namespace=\"n1\"}");

    private static readonly string[] s_lines =
    [
        "{\"status\":500,\"namespace\":\"x\",\"trace\":\"a\"}",
        "{\"status\":200,\"user\":{\"id\":\"u1\"}}",
        "{\"status\":503, oops",
        "{\"user\":{\"id\":\"u2\"},\"status\":\"500\"}",
        "{\"status\":500,\"status\":404}",
        "{\"level\":\"info\"}",
    ];

    private static LogQLEngine JsonEngine()
    {
        var store = new InMemoryLogStore();
        for (var i = 0; i < s_lines.Length; i++)
        {
            store.Append(Tenant, s_stream, T0 + (i + 1) * Second, s_lines[i]);
        }

        return new LogQLEngine(store);
    }

    [Theory]
    // Only "status" is read from the lines (namespace is the stream's): the malformed tail after it is not seen, as in Loki.
    [InlineData("sum by (namespace) (count_over_time({app=\"j\"} | json | status >= 500 [1m]))", "{namespace=\"n1\"}=4")]
    [InlineData("sum by (status) (count_over_time({app=\"j\"} | json | status != \"\" [1m]))", "{status=\"200\"}=1; {status=\"500\"}=3; {status=\"503\"}=1")]
    // __error__ is read: every line is parsed whole, so the malformed one is seen and filtered out.
    [InlineData("sum by (user_id) (count_over_time({app=\"j\"} | json | __error__=\"\" [1m]))", "{user_id=\"u1\"}=1; {user_id=\"u2\"}=1; {}=3")]
    [InlineData("sum by (namespace_extracted) (count_over_time({app=\"j\"} | json | __error__=\"\" [1m]))", "{namespace_extracted=\"x\"}=1; {}=4")]
    [InlineData("sum by (namespace) (sum_over_time({app=\"j\"} | json | unwrap status [1m]))", "{namespace=\"n1\"}=2203")]
    public void GroupedJson_AnswersAsExtractingEveryKey(string query, string expected)
    {
        Assert.Equal(expected, Vector(query, 10, JsonEngine()));
    }

    [Fact]
    public void UngroupedJson_MalformedLine_PipelineError()
    {
        Assert.Throws<LogQLLimitException>(() => Vector("count_over_time({app=\"j\"} | json [1m])", 10, JsonEngine()));
    }
}
