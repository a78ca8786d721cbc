using Pipeline.Aggregator.LogQL;
using static Pipeline.Aggregator.Tests.LogQL.LogQLFixture;

namespace Pipeline.Aggregator.Tests.LogQL;

/// <summary>A query holding more than max_query_bytes in its series or entries fails with an error naming the limit.</summary>
public sealed class QueryMemoryLimitTests
{
    [Theory]
    [InlineData("count_over_time({app=\"x\"}[20s])")]
    [InlineData("quantile_over_time(0.5, {pod=\"p1\"} | logfmt | unwrap status [20s]) by (pod)")]
    public void RangeQuery_OverLimit_ErrorNamesLimit(string query)
    {
        // 11 steps of a few series: a few hundred bytes each, over a limit of 300.
        var engine = Engine(new LogQLEngineOptions { MaxQueryBytes = 300 });

        var ex = Assert.Throws<LogQLLimitException>(() => engine.QueryRange(Tenant, query, T0, T0 + 100 * Second, 10 * Second, 100, Direction.Forward));

        Assert.Contains("max_query_bytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains("300 bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LogQuery_EntriesOverLimit_ErrorNamesLimit()
    {
        var engine = Engine(new LogQLEngineOptions { MaxQueryBytes = 200 });

        var ex = Assert.Throws<LogQLLimitException>(() => Logs("{app=\"x\"}", engine: engine));

        Assert.Contains("max_query_bytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithinLimit_Answers()
    {
        var engine = Engine(new LogQLEngineOptions { MaxQueryBytes = 1 << 20 });

        Assert.Equal(10, Logs("{app=\"x\"}", engine: engine).Count);
        Assert.NotEqual(string.Empty, Matrix("count_over_time({app=\"x\"}[20s])", 10, 40, 10, engine));
    }
}
