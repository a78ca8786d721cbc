using System.Buffers;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Pipeline.Prometheus.Exposition;

namespace Pipeline.Benchmarks.Prometheus;

/// <summary>Collect + render /metrics for 10,000 series (a counter with 10,000 label combinations).</summary>
[MemoryDiagnoser]
public class ExpositionBenchmarks
{
    private readonly ArrayBufferWriter<byte> _output = new(4 * 1024 * 1024);
    private Meter _meter = null!;
    private PrometheusMetrics _metrics = null!;

    [Params(10_000)]
    public int Series { get; set; }

    [Params(ExpositionFormat.PrometheusText, ExpositionFormat.OpenMetrics)]
    public ExpositionFormat Format { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var meterName = "Bench." + Guid.NewGuid().ToString("N");
        var options = new PrometheusMetricsOptions { CardinalityLimit = Series + 100 };
        options.Meters.Clear();
        options.Meters.Add(meterName);
        _metrics = new PrometheusMetrics(options);
        _meter = new Meter(meterName);
        var counter = _meter.CreateCounter<long>("pipeline.component.received", "{entry}", "Entries a component took in.");
        for (var i = 0; i < Series; i++)
        {
            counter.Add(
                i,
                new KeyValuePair<string, object?>("pipeline", "agent"),
                new KeyValuePair<string, object?>("component", "stage-" + (i % 100)),
                new KeyValuePair<string, object?>("pod", "pod-" + i));
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _metrics.Dispose();
        _meter.Dispose();
    }

    [Benchmark]
    public int CollectAndWrite()
    {
        _output.ResetWrittenCount();
        _metrics.WriteTo(_output, Format);
        return _output.WrittenCount;
    }
}
