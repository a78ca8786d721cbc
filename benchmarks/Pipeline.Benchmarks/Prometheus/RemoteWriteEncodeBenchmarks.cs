using System.Buffers;
using BenchmarkDotNet.Attributes;
using Pipeline.Prometheus.RemoteWrite;

namespace Pipeline.Benchmarks.Prometheus;

/// <summary>Build the WriteRequest, serialize and snappy-compress 10,000 samples (one per series, cAdvisor-like labels).</summary>
[MemoryDiagnoser]
public class RemoteWriteEncodeBenchmarks
{
    private RemoteWriteSample[] _samples = [];

    [Params(10_000)]
    public int Samples { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _samples = new RemoteWriteSample[Samples];
        for (var i = 0; i < Samples; i++)
        {
            _samples[i] = new RemoteWriteSample(
                "container_cpu_usage_seconds_total",
                [new("namespace", "prod"), new("pod", "api-" + (i / 10)), new("container", "c" + (i % 10)), new("instance", "node-1")],
                i * 0.5,
                1_764_000_000_000 + i);
        }
    }

    [Benchmark]
    public int EncodeAndCompress()
    {
        var (buffer, length) = RemoteWriteEncoder.Encode(RemoteWriteEncoder.Build(_samples));
        ArrayPool<byte>.Shared.Return(buffer);
        return length;
    }
}
