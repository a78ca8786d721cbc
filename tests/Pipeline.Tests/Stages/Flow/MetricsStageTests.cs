using System.Diagnostics.Metrics;
using Pipeline.Runtime;
using Pipeline.Stages;
using Pipeline.Stages.Flow;

namespace Pipeline.Tests.Stages.Flow;

public sealed class MetricsStageTests : IDisposable
{
    private readonly Meter _meter = new("MetricsStageTests." + Guid.NewGuid());
    private readonly MeterListener _listener = new();
    private readonly List<(string Name, double Value, string Tags)> _measurements = [];

    public MetricsStageTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == _meter)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
            _measurements.Add((instrument.Name, value, string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}")))));
        _listener.Start();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _meter.Dispose();
    }

    private MetricsStage Stage(string name, MetricDefinition definition) =>
        new(new MetricsStageOptions { Meter = _meter, Metrics = { [name] = definition } });

    private static Pipeline.Model.LogEntry Entry(string line, string? level = null, string? bytes = null)
    {
        var entry = StageTest.Entry(line, StageTest.Labels("{__path__=\"/x\", app=\"api\"}"));
        if (level is not null)
        {
            entry.Extracted.Set("level", level);
        }

        if (bytes is not null)
        {
            entry.Extracted.Set("bytes", bytes);
        }

        return entry;
    }

    [Fact]
    public void Counter_Inc_CountsEntriesWithSourceAndValue()
    {
        var stage = Stage("errors_total", new MetricDefinition { Type = "Counter", Source = "level", Value = "error", Action = "inc" });

        stage.Process(Entry("a", "error"));
        stage.Process(Entry("b", "info"));
        stage.Process(Entry("c"));

        Assert.Equal([("promtail_custom_errors_total", 1d, "app=api")], _measurements);
    }

    [Fact]
    public void Counter_MatchAllCountEntryBytes_AddsLineLength()
    {
        var stage = Stage("bytes_total", new MetricDefinition { Type = "counter", Prefix = "agent_", Action = "add", MatchAll = true, CountEntryBytes = true });

        stage.Process(Entry("12345"));
        stage.Process(Entry(""));

        Assert.Equal([("agent_bytes_total", 5d, "app=api"), ("agent_bytes_total", 0d, "app=api")], _measurements);
    }

    [Theory]
    [InlineData("12.5", 12.5)]
    [InlineData("not a number", null)]
    [InlineData("-3", null)]
    [InlineData("", null)]
    public void Counter_Add_ParsesValue(string bytes, double? expected)
    {
        var stage = Stage("b", new MetricDefinition { Type = "Counter", Source = "bytes", Action = "add" });

        stage.Process(Entry("x", bytes: bytes));

        Assert.Equal(expected is null ? [] : [expected.Value], _measurements.Select(m => m.Value));
    }

    [Fact]
    public void Gauge_Actions_TrackValuePerStream()
    {
        var set = Stage("g", new MetricDefinition { Type = "Gauge", Source = "bytes", Action = "set" });
        var inc = Stage("h", new MetricDefinition { Type = "Gauge", Source = "bytes", Action = "inc" });
        var sub = Stage("k", new MetricDefinition { Type = "Gauge", Source = "bytes", Action = "sub" });

        set.Process(Entry("x", bytes: "10"));
        inc.Process(Entry("x", bytes: "anything"));
        inc.Process(Entry("x", bytes: "anything"));
        sub.Process(Entry("x", bytes: "2.5"));

        Assert.Equal([10d, 1d, 2d, -2.5d], _measurements.Select(m => m.Value));
    }

    [Fact]
    public void Histogram_ObservesNumericValues()
    {
        var stage = Stage("latency", new MetricDefinition { Type = "Histogram", Source = "bytes", Buckets = { 0.1, 1, 10 } });

        stage.Process(Entry("x", bytes: "0.5"));
        stage.Process(Entry("x", bytes: "oops"));

        Assert.Equal([("promtail_custom_latency", 0.5d, "app=api")], _measurements);
    }

    [Fact]
    public void Process_AlwaysKeepsEntry()
    {
        var stage = Stage("c", new MetricDefinition { Type = "Counter", MatchAll = true, Action = "inc" });
        Assert.Equal(StageResult.Keep, stage.Process(Entry("x")));
    }

    [Theory]
    [InlineData("Summary", "inc", "c.type")]
    [InlineData("Counter", "set", "c.config.action")]
    [InlineData("Gauge", "observe", "c.config.action")]
    [InlineData("Histogram", null, "c.config.buckets")]
    public void Constructor_Invalid_Throws(string type, string? action, string field)
    {
        var ex = Assert.Throws<StageOptionsException>(() => Stage("c", new MetricDefinition { Type = type, Action = action }));
        Assert.Contains("metrics." + field, ex.Message);
    }

    [Fact]
    public void Constructor_InvalidName_Throws()
    {
        var ex = Assert.Throws<StageOptionsException>(() => Stage("bad-name", new MetricDefinition { Type = "Counter", Action = "inc" }));
        Assert.Contains("Prometheus metric name", ex.Message);
    }
}
