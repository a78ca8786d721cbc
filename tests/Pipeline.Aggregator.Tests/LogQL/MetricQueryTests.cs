using Microsoft.Extensions.Time.Testing;
using Pipeline.Aggregator.LogQL;
using Pipeline.Model;
using static Pipeline.Aggregator.Tests.LogQL.LogQLFixture;

namespace Pipeline.Aggregator.Tests.LogQL;

public sealed class MetricQueryTests
{
    private const string L1 = "{app=\"x\", namespace=\"a\", pod=\"p1\"}";
    private const string L2 = "{app=\"x\", namespace=\"a\", pod=\"p2\"}";
    private const string L3 = "{app=\"y\", namespace=\"b\", pod=\"p3\"}";
    private const string P1Status = "{pod=\"p1\"} | logfmt status | unwrap status [1m]";

    [Fact]
    public void CountOverTime_RangeQuery_WindowsLeftOpenRightClosed()
    {
        var matrix = Matrix("count_over_time({app=\"x\"}[20s])", 10, 40, 10);
        Assert.Equal($"{L1} 10=1 20=2 30=2 40=2\n{L2} 10=1 20=2 30=2 40=2", matrix);
    }

    [Fact]
    public void CountOverTime_EntryOnWindowStart_Excluded()
    {
        // At t=40 the window (10s, 40s] excludes the entry at 10s.
        Assert.Equal($"{L1}=3", Vector("count_over_time({pod=\"p1\"}[30s])", 40));
        Assert.Equal($"{L1}=3", Vector("count_over_time({pod=\"p1\"}[30s])", 30));
        Assert.Equal($"{L1}=1", Vector("count_over_time({pod=\"p1\"}[1s])", 30));
    }

    [Fact]
    public void EmptyWindows_HaveNoPoints()
    {
        Assert.Equal($"{L3} 20=1 40=1", Matrix("count_over_time({pod=\"p3\"} |= \"0\" [5s])", 0, 45, 5));
    }

    [Theory]
    [InlineData("rate({pod=\"p1\"}[20s])", 40, L1 + "=0.1")]
    [InlineData("count_over_time({pod=\"p1\"}[20s] offset 20s)", 60, L1 + "=2")]
    [InlineData("absent_over_time({app=\"nope\", pod=~\"x.*\"}[1m])", 60, "{app=\"nope\"}=1")]
    [InlineData("absent_over_time({app=\"x\"}[1m])", 60, "")]
    [InlineData("sum_over_time(" + P1Status + ")", 60, L1 + "=2008")]
    [InlineData("avg_over_time(" + P1Status + ") by (pod)", 60, "{pod=\"p1\"}=334.666667")]
    [InlineData("min_over_time(" + P1Status + ")", 60, L1 + "=200")]
    [InlineData("max_over_time(" + P1Status + ")", 60, L1 + "=503")]
    [InlineData("first_over_time(" + P1Status + ")", 60, L1 + "=200")]
    [InlineData("last_over_time(" + P1Status + ")", 60, L1 + "=201")]
    [InlineData("quantile_over_time(0.5, " + P1Status + ")", 60, L1 + "=302.5")]
    [InlineData("quantile_over_time(0.99, " + P1Status + ") without (app)", 60, "{namespace=\"a\", pod=\"p1\"}=502.85")]
    [InlineData("stdvar_over_time(" + P1Status + ")", 60, L1 + "=19102.555556")]
    [InlineData("stddev_over_time(" + P1Status + ")", 60, L1 + "=138.211995")]
    [InlineData("rate(" + P1Status + ")", 60, L1 + "=33.466667")]
    [InlineData("sum_over_time({pod=\"p1\"} | logfmt latency | unwrap duration(latency) [1m])", 60, L1 + "=1.385")]
    [InlineData("sum_over_time({pod=\"p1\"} | logfmt size | unwrap bytes(size) [1m])", 60, L1 + "=8112")]
    [InlineData("sum(sum_over_time({pod=\"p1\"} | logfmt | unwrap status [1m]))", 60, "{}=2008")]
    [InlineData("sum_over_time({pod=\"p1\"} | logfmt level, status | unwrap status | level=\"error\" [1m])", 60, "{app=\"x\", level=\"error\", namespace=\"a\", pod=\"p1\"}=1003")]
    [InlineData("sum_over_time({pod=\"p1\"} | logfmt level, status | unwrap level | __error__=\"\" [1m])", 60, "")]
    [InlineData("sum by (level) (count_over_time({pod=\"p2\"} | json | drop __error__ [1m]))", 60, "{level=\"debug\"}=1; {level=\"error\"}=1; {level=\"info\"}=1; {}=1")]
    [InlineData("sum by (pod) (count_over_time({app=\"x\"}[1m]))", 60, "{pod=\"p1\"}=6; {pod=\"p2\"}=4")]
    [InlineData("sum(count_over_time({app=\"x\"}[1m])) by (pod)", 60, "{pod=\"p1\"}=6; {pod=\"p2\"}=4")]
    [InlineData("sum without (pod) (count_over_time({app=\"x\"}[1m]))", 60, "{app=\"x\", namespace=\"a\"}=10")]
    [InlineData("sum(count_over_time({app=\"x\"}[1m]))", 60, "{}=10")]
    [InlineData("avg(count_over_time({app=\"x\"}[1m]))", 60, "{}=5")]
    [InlineData("min(count_over_time({app=\"x\"}[1m]))", 60, "{}=4")]
    [InlineData("max(count_over_time({app=\"x\"}[1m]))", 60, "{}=6")]
    [InlineData("count(count_over_time({app=\"x\"}[1m]))", 60, "{}=2")]
    [InlineData("stddev(count_over_time({app=\"x\"}[1m]))", 60, "{}=1")]
    [InlineData("stdvar(count_over_time({app=\"x\"}[1m]))", 60, "{}=1")]
    [InlineData("topk(1, count_over_time({app=~\"x|y\"}[1m]))", 60, L1 + "=6")]
    [InlineData("bottomk(1, count_over_time({app=~\"x|y\"}[1m]))", 60, L3 + "=3")]
    [InlineData("topk by (app) (1, count_over_time({app=~\"x|y\"}[1m]))", 60, L1 + "=6; " + L3 + "=3")]
    [InlineData("sort(count_over_time({app=~\"x|y\"}[1m]))", 60, L3 + "=3; " + L2 + "=4; " + L1 + "=6")]
    [InlineData("sort_desc(count_over_time({app=~\"x|y\"}[1m]))", 60, L1 + "=6; " + L2 + "=4; " + L3 + "=3")]
    [InlineData("count_over_time({pod=\"p3\"} |> \"<_> 500 <_>\" [1m])", 60, L3 + "=1")]
    [InlineData("sum(count_over_time({pod=\"p3\"} | label_format addr=\"10.1.2.3\" | addr = ip(\"10.0.0.0/8\") [1m]))", 60, "{}=3")]
    [InlineData("count_over_time({pod=\"p3\"} | label_format addr=\"10.1.2.3\" | addr != ip(\"10.0.0.0/8\") [1m])", 60, "")]
    [InlineData("count_over_time({pod=\"p3\"} !> \"<_> 500 <_>\" [1m])", 60, L3 + "=2")]
    [InlineData("bytes_over_time({pod=\"p3\"} |= \"GET\" [1m])", 60, L3 + "=24")]
    [InlineData("bytes_rate({pod=\"p3\"} |= \"GET\" [1m])", 60, L3 + "=0.4")]
    [InlineData("vector(1)+vector(1)", 0, "{}=2")]
    [InlineData("1 + 1", 0, "scalar 2")]
    [InlineData("2 ^ 3 * 2 - 1", 0, "scalar 15")]
    [InlineData("7 % 4", 0, "scalar 3")]
    [InlineData("1 > bool 2", 0, "scalar 0")]
    [InlineData("count_over_time({app=\"x\"}[1m]) * 2", 60, L1 + "=12; " + L2 + "=8")]
    [InlineData("10 - count_over_time({app=\"x\"}[1m])", 60, L1 + "=4; " + L2 + "=6")]
    [InlineData("-count_over_time({pod=\"p1\"}[1m])", 60, L1 + "=-6")]
    [InlineData("count_over_time({app=\"x\"}[1m]) > 5", 60, L1 + "=6")]
    [InlineData("count_over_time({app=\"x\"}[1m]) > bool 5", 60, L1 + "=1; " + L2 + "=0")]
    [InlineData("5 < count_over_time({app=\"x\"}[1m])", 60, L1 + "=6")]
    [InlineData("sum by (pod) (count_over_time({app=\"x\"}[1m])) / on (pod) sum by (pod) (count_over_time({app=\"x\"} |= \"error\" [1m]))", 60, "{pod=\"p1\"}=3; {pod=\"p2\"}=4")]
    [InlineData("count_over_time({app=\"x\"}[1m]) / count_over_time({app=\"x\"}[1m])", 60, L1 + "=1; " + L2 + "=1")]
    [InlineData("count_over_time({app=\"x\"}[1m]) >= count_over_time({pod=\"p1\"}[1m])", 60, L1 + "=6")]
    [InlineData("sum by (pod) (count_over_time({pod=\"p1\"}[1m])) + ignoring (pod) sum(count_over_time({pod=\"p2\"}[1m]))", 60, "{}=10")]
    [InlineData("count_over_time({app=\"x\"}[1m]) and count_over_time({pod=\"p1\"}[1m])", 60, L1 + "=6")]
    [InlineData("count_over_time({app=\"x\"}[1m]) unless count_over_time({pod=\"p1\"}[1m])", 60, L2 + "=4")]
    [InlineData("count_over_time({app=\"x\"}[1m]) or count_over_time({pod=\"p3\"}[1m])", 60, L1 + "=6; " + L2 + "=4; " + L3 + "=3")]
    [InlineData("sum by (pod) (count_over_time({app=\"x\"}[1m])) and on (pod) sum by (pod, app) (count_over_time({pod=\"p2\"}[1m]))", 60, "{pod=\"p2\"}=4")]
    [InlineData("label_replace(count_over_time({app=\"x\"}[1m]), \"n\", \"$1-${num}\", \"pod\", \"(p)(?P<num>.)\")", 60, "{app=\"x\", n=\"p-1\", namespace=\"a\", pod=\"p1\"}=6; {app=\"x\", n=\"p-2\", namespace=\"a\", pod=\"p2\"}=4")]
    [InlineData("label_replace(count_over_time({pod=\"p1\"}[1m]), \"n\", \"$1\", \"pod\", \"1\")", 60, L1 + "=6")]
    [InlineData("label_replace(count_over_time({pod=\"p1\"}[1m]), \"app\", \"\", \"pod\", \"p.*\")", 60, "{namespace=\"a\", pod=\"p1\"}=6")]
    [InlineData("label_replace(count_over_time({pod=\"p1\"}[1m]), \"app\", \"$1\", \"missing\", \"(.*)\")", 60, "{namespace=\"a\", pod=\"p1\"}=6")]
    [InlineData("label_replace(count_over_time({pod=\"p1\"}[1m]), \"pod\", \"$1$1\", \"namespace\", \"(.*)\")", 60, "{app=\"x\", namespace=\"a\", pod=\"aa\"}=6")]
    [InlineData("count_values(\"n\", count_over_time({app=~\"x|y\"}[1m]))", 60, "{n=\"3\"}=1; {n=\"4\"}=1; {n=\"6\"}=1")]
    [InlineData("count_values(\"n\", count_over_time({app=~\"x|y\"}[1m]) > bool 3)", 60, "{n=\"0\"}=1; {n=\"1\"}=2")]
    [InlineData("count_values by (app) (\"n\", count_over_time({app=~\"x|y\"}[1m]) > bool 3)", 60, "{app=\"x\", n=\"1\"}=2; {app=\"y\", n=\"0\"}=1")]
    [InlineData("count_values(\"n\", count_over_time({app=\"x\"}[1m]) / 8)", 60, "{n=\"0.5\"}=1; {n=\"0.75\"}=1")]
    [InlineData("count_values(\"n\", count_over_time({app=\"x\"}[1m]) * 1e6)", 60, "{n=\"4000000\"}=1; {n=\"6000000\"}=1")]
    [InlineData("count_over_time({app=\"x\"}[1m]) / on (namespace) group_left sum by (namespace) (count_over_time({app=\"x\"}[1m]))", 60, L1 + "=0.6; " + L2 + "=0.4")]
    [InlineData("count_over_time({app=~\"x|y\"}[1m]) / on (namespace) group_left (team) label_replace(sum by (namespace) (count_over_time({app=~\"x|y\"}[1m])), \"team\", \"t-$1\", \"namespace\", \"(.*)\")", 60, "{app=\"x\", namespace=\"a\", pod=\"p1\", team=\"t-a\"}=0.6; {app=\"x\", namespace=\"a\", pod=\"p2\", team=\"t-a\"}=0.4; {app=\"y\", namespace=\"b\", pod=\"p3\", team=\"t-b\"}=1")]
    [InlineData("label_replace(sum by (namespace) (count_over_time({app=~\"x|y\"}[1m])), \"team\", \"t-$1\", \"namespace\", \"(.*)\") / ignoring (app, pod, team) group_right (team) count_over_time({app=~\"x|y\"}[1m])", 60, "{app=\"x\", namespace=\"a\", pod=\"p1\", team=\"t-a\"}=1.666667; {app=\"x\", namespace=\"a\", pod=\"p2\", team=\"t-a\"}=2.5; {app=\"y\", namespace=\"b\", pod=\"p3\", team=\"t-b\"}=1")]
    [InlineData("count_over_time({app=~\"x|y\"}[1m]) > on (namespace) group_left sum by (namespace) (count_over_time({app=~\"x|y\"}[1m])) / 2", 60, L1 + "=6; " + L3 + "=3")]
    [InlineData("count_over_time({app=~\"x|y\"}[1m]) > bool on (namespace) group_left sum by (namespace) (count_over_time({app=~\"x|y\"}[1m])) / 2", 60, L1 + "=1; " + L2 + "=0; " + L3 + "=1")]
    [InlineData("sum by (namespace) (count_over_time({app=~\"x|y\"}[1m])) / 2 < on (namespace) group_right count_over_time({app=~\"x|y\"}[1m])", 60, L1 + "=5; " + L3 + "=1.5")]
    public void InstantQuery_GoldenVector(string query, long atSec, string expected)
    {
        Assert.Equal(expected, Vector(query, atSec));
    }

    [Fact]
    public void Grafana_SaveAndTest_VectorPlusVector_Is2()
    {
        var result = Assert.IsType<VectorResult>(Engine().QueryInstant(Tenant, "vector(1)+vector(1)", T0));
        var sample = Assert.Single(result.Samples);
        Assert.Equal(2, sample.Value);
        Assert.Equal(LabelSet.Empty, sample.Metric);
        Assert.Equal("vector", result.ResultType);
    }

    [Fact]
    public void Grafana_LogVolume_ReturnsMatrixByLevel()
    {
        var result = Engine().QueryRange(Tenant, "sum by (level) (count_over_time({app=\"x\"} | drop __error__ [1m]))", T0, T0 + 60 * Second, 30 * Second, 100, Direction.Backward);
        Assert.Equal("matrix", result.ResultType);
        var series = Assert.Single(((MatrixResult)result).Series);
        Assert.Equal(LabelSet.Empty, series.Metric);
        Assert.Equal([new SamplePoint(T0 + 30 * Second, 6), new SamplePoint(T0 + 60 * Second, 10)], series.Points);

        var byLevel = Matrix("sum by (level) (count_over_time({pod=\"p1\"} | logfmt | drop __error__ [1m]))", 60, 60, 1);
        Assert.Equal("{level=\"error\"} 60=2\n{level=\"info\"} 60=3\n{level=\"warn\"} 60=1", byLevel);
    }

    [Fact]
    public void LabelReplace_SeriesCollide_RefusedOnlyWhereBothHaveASample()
    {
        var ex = Assert.Throws<LogQLLimitException>(() => Vector("label_replace(count_over_time({app=\"x\"}[1m]), \"pod\", \"\", \"pod\", \".*\")", 60));
        Assert.Equal("vector cannot contain metrics with the same labelset", ex.Message);
    }

    [Theory]
    [InlineData("count_over_time({app=\"x\"}[1m]) / on (namespace) group_left count_over_time({app=\"x\"}[1m])", "found duplicate series for the match group {namespace=\"a\"} on the right hand-side of the operation: many-to-many matching not allowed: matching labels must be unique on one side")]
    [InlineData("count_over_time({app=\"x\"}[1m]) / on (namespace) group_right count_over_time({app=\"x\"}[1m])", "found duplicate series for the match group {namespace=\"a\"} on the left hand-side of the operation: many-to-many matching not allowed: matching labels must be unique on one side")]
    [InlineData("sum by (namespace, pod) (count_over_time({app=~\"x|y\"}[1m])) + on (namespace) group_left (pod) sum by (namespace) (count_over_time({app=~\"x|y\"}[1m]))", "multiple matches for labels: grouping labels must ensure unique matches")]
    public void GroupModifier_AmbiguousMatch_Refused(string query, string expected)
    {
        var ex = Assert.Throws<LogQLLimitException>(() => Vector(query, 60));
        Assert.Equal(expected, ex.Message);
    }

    [Fact]
    public void CountValues_RangeQuery_OneSeriesPerValue()
    {
        Assert.Equal("{n=\"1\"} 10=2\n{n=\"2\"} 20=2", Matrix("count_values(\"n\", count_over_time({app=\"x\"}[20s]))", 10, 20, 10));
    }

    [Fact]
    public void VectorLiteral_RangeQuery_PointAtEveryStep()
    {
        Assert.Equal("{} 0=1 30=1 60=1", Matrix("vector(1)", 0, 60, 30));
        Assert.Equal("{} 0=2 60=2", Matrix("1 + 1", 0, 60, 60));
    }

    [Fact]
    public void SumByPodRate_RangeQuery()
    {
        var matrix = Matrix("sum by (pod) (rate({namespace=\"a\"}[30s]))", 30, 60, 30);
        Assert.Equal("{pod=\"p1\"} 30=0.1 60=0.1\n{pod=\"p2\"} 30=0.1 60=0.033333", matrix);
    }

    [Fact]
    public void PipelineError_InMetricQuery_IsReported()
    {
        var ex = Assert.Throws<LogQLLimitException>(() => Vector("count_over_time({pod=\"p2\"} | json [1m])", 60));
        Assert.StartsWith("pipeline error: 'JSONParserErr' for series:", ex.Message, StringComparison.Ordinal);
        Assert.Equal(L2 + "=3", Vector("count_over_time({pod=\"p2\"} | json | __error__=\"\" | keep app, namespace, pod [1m])", 60));
    }

    [Fact]
    public void SeriesLimit_Exceeded_Throws()
    {
        var engine = Engine(new LogQLEngineOptions { MaxSeries = 1 });
        var ex = Assert.Throws<LogQLLimitException>(() => Matrix("count_over_time({app=\"x\"}[1m])", 0, 60, 60, engine));
        Assert.Equal("maximum number of series (1) reached for a single query; consider reducing query cardinality by adding more specific stream selectors, reducing the time range, or aggregating results with functions like sum(), count() or topk()", ex.Message);
        Assert.Equal("{} 60=10", Matrix("sum(count_over_time({app=\"x\"}[1m]))", 60, 60, 60, engine));
    }

    [Fact]
    public void TooManySteps_Rejected()
    {
        var ex = Assert.Throws<LogQLLimitException>(() => Engine().QueryRange(Tenant, "rate({app=\"x\"}[1m])", T0, T0 + 20_000 * Second, Second, 100, Direction.Backward));
        Assert.StartsWith("exceeded maximum resolution of 11000 points per timeseries", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Timeout_SlowStore_ThrowsTimeout()
    {
        var time = new FakeTimeProvider();
        var store = new SlowStore(time);
        var engine = new LogQLEngine(store, new LogQLEngineOptions { Timeout = TimeSpan.FromSeconds(30) }, time);
        Assert.Throws<LogQLTimeoutException>(() => engine.QueryInstant(Tenant, "count_over_time({app=\"x\"}[1h])", T0 + 3600 * Second));
        Assert.Throws<LogQLTimeoutException>(() => engine.QueryRange(Tenant, "{app=\"x\"} |= \"nothing\"", T0, T0 + 3600 * Second, Second, 10, Direction.Backward));
    }

    [Fact]
    public void Cancelled_Throws()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => Engine().QueryInstant(Tenant, "count_over_time({app=\"x\"}[1m])", T0, cts.Token));
    }

    /// <summary>A store whose reads take a minute of fake time per entry.</summary>
    private sealed class SlowStore(FakeTimeProvider time) : ILogQueryStore
    {
        public IEnumerable<StoredStream> SelectStreams(string tenant, IReadOnlyList<LabelMatcher> matchers, long fromNs, long toNs) => [new StoredStream(P1)];

        public IEnumerable<StoredEntry> ReadEntries(string tenant, StoredStream stream, long fromNs, long toNs, Direction direction)
        {
            var line = "x"u8.ToArray();
            for (var i = 0; i < 100_000; i++)
            {
                time.Advance(TimeSpan.FromMinutes(1));
                yield return new StoredEntry(T0 + i * 1000, line);
            }
        }
    }
}
