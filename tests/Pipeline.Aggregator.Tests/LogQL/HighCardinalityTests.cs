using Pipeline.Aggregator.LogQL;
using Pipeline.Model;
using static Pipeline.Aggregator.Tests.LogQL.LogQLFixture;

namespace Pipeline.Aggregator.Tests.LogQL;

/// <summary>
/// JSON lines whose every field becomes a label (unique trace ids): a wrapping aggregation's grouping is kept while
/// ranging, so the answer needs as many series as the user gets back, not one per distinct extracted label set.
/// </summary>
public sealed class HighCardinalityTests
{
    private const int Lines = 30_000;
    private static readonly string[] s_levels = ["info", "warn", "error"];

    private static LogQLEngine LoadEngine(LogQLEngineOptions? options = null)
    {
        var store = new InMemoryLogStore();
        var labels = LabelSet.Parse("{job=\"load\"}");
        for (var i = 0; i < Lines; i++)
        {
            // One line every 100 ms over 3000 s; the level cycles, every line has its own trace id and timestamp field.
            var level = s_levels[i % 3];
            store.Append(Tenant, labels, T0 + (i * (Second / 10)) + 1, $"{{\"level\":\"{level}\",\"trace_id\":\"{i:x8}\",\"ts\":{i},\"duration_ms\":{i % 100},\"status\":{(i % 10 == 0 ? 500 : 200)}}}");
        }

        return new LogQLEngine(store, options);
    }

    [Fact]
    public void SumByLevel_CountOverTimeJson_RightValues()
    {
        var matrix = Matrix("sum by (level) (count_over_time({job=\"load\"} | json [30m]))", 1800, 3000, 1200, LoadEngine());
        Assert.Equal("{level=\"error\"} 1800=6000 3000=6000\n{level=\"info\"} 1800=6000 3000=6000\n{level=\"warn\"} 1800=6000 3000=6000", matrix);
    }

    [Fact]
    public void SumWithout_CountOverTimeJson_KeepsTheOtherLabels()
    {
        var matrix = Matrix("sum without (trace_id, ts, duration_ms, status) (count_over_time({job=\"load\"} | json [30m]))", 3000, 3000, 60, LoadEngine());
        Assert.Equal("{job=\"load\", level=\"error\"} 3000=6000\n{job=\"load\", level=\"info\"} 3000=6000\n{job=\"load\", level=\"warn\"} 3000=6000", matrix);
    }

    [Fact]
    public void Sum_NoGrouping_RateOfJsonLines()
    {
        Assert.Equal("{}=10", Vector("sum(rate({job=\"load\"} | json [10m]))", 3000, LoadEngine()));
    }

    [Fact]
    public void SumByStatus_SumOverTimeUnwrap_RightValues()
    {
        // duration_ms is i % 100; status 500 lines are i % 10 == 0, whose durations are 0, 10, ..., 90.
        var vector = Vector("sum by (status) (sum_over_time({job=\"load\"} | json | unwrap duration_ms [1h]))", 3000, LoadEngine());
        Assert.Equal("{status=\"200\"}=1350000; {status=\"500\"}=135000", vector);
    }

    [Fact]
    public void MaxByLevel_MaxOverTime_RightValues()
    {
        Assert.Equal("{level=\"error\"}=99; {level=\"info\"}=99; {level=\"warn\"}=99", Vector("max by (level) (max_over_time({job=\"load\"} | json | unwrap duration_ms [1h]))", 3000, LoadEngine()));
        Assert.Equal("{level=\"error\"}=0; {level=\"info\"}=0; {level=\"warn\"}=0", Vector("min by (level) (min_over_time({job=\"load\"} | json | unwrap duration_ms [1h]))", 3000, LoadEngine()));
    }

    [Fact]
    public void QuantileOverTimeByLevel_ManySamples_WithinSketchError()
    {
        // 10,000 samples per level, durations 0..99 evenly: the 0.99 quantile is 98.01 exactly (within 0.5 %).
        var vector = Vector("quantile_over_time(0.99, {job=\"load\"} | json | unwrap duration_ms [1h]) by (level)", 3000, LoadEngine());
        foreach (var sample in vector.Split("; "))
        {
            var value = double.Parse(sample[(sample.IndexOf('=', 8) + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(value, 98.01 * 0.995, 98.01 * 1.005);
        }

        Assert.Equal(3, vector.Split("; ").Length);
    }

    [Fact]
    public void LogVolumeQuery_Grafana_RightValues()
    {
        var vector = Vector("sum by (level, detected_level) (count_over_time({job=\"load\"} | json | drop __error__ [1h]))", 3000, LoadEngine());
        Assert.Equal("{level=\"error\"}=10000; {level=\"info\"}=10000; {level=\"warn\"}=10000", vector);
    }

    [Fact]
    public void NoWrappingAggregation_SeriesLimitSaysHowToFix()
    {
        var ex = Assert.Throws<LogQLLimitException>(() => Vector("count_over_time({job=\"load\"} | json [1h])", 3000, LoadEngine()));
        Assert.Equal("maximum number of series (20000) reached for a single query; consider reducing query cardinality by adding more specific stream selectors, reducing the time range, or aggregating results with functions like sum(), count() or topk()", ex.Message);
    }

    [Fact]
    public void CountBy_NotPushedDown_StillCountsSeries()
    {
        // count by needs every series: the intermediate limit applies, with the same guidance.
        var engine = LoadEngine(new LogQLEngineOptions { MaxIntermediateSeries = 40_000 });
        Assert.Equal("{level=\"error\"}=10000; {level=\"info\"}=10000; {level=\"warn\"}=10000", Vector("count by (level) (count_over_time({job=\"load\"} | json [1h]))", 3000, engine));
    }

    [Fact]
    public void SeriesLimit_CountsWhatTheUserGets()
    {
        var engine = LoadEngine(new LogQLEngineOptions { MaxSeries = 3, MaxIntermediateSeries = 3 });
        Assert.Equal("{level=\"error\"}=10000; {level=\"info\"}=10000; {level=\"warn\"}=10000", Vector("sum by (level) (count_over_time({job=\"load\"} | json [1h]))", 3000, engine));
        Assert.Throws<LogQLLimitException>(() => Vector("sum by (status, level) (count_over_time({job=\"load\"} | json [1h]))", 3000, engine));
    }
}
