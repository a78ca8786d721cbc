using BenchmarkDotNet.Attributes;
using Pipeline.Loki.Protocol;
using Pipeline.Model;

namespace Pipeline.Benchmarks.Loki;

/// <summary>
/// Adding a 1 MiB batch of CRI pod lines as the file source and the cri stage hand them on: runs of entries from one
/// file, stdout with every seventh line on stderr, 16 files. With <see cref="SharedInstances"/> the entries of one stream
/// carry one label set instance (what the cri stage produces), so the builder finds the stream by reference; without,
/// each entry carries an equal copy, so every entry pays the hash lookup (the cost before the shortcut).
/// Allocated bytes per batch should be 0 once warmed up.
/// </summary>
[MemoryDiagnoser]
public class PushStreamLookupBenchmarks
{
    private const int BatchBytes = 1024 * 1024;
    private const int Files = 16;
    private const int RunLength = 256;

    private readonly PushRequestBuilder _builder = new();
    private LabelSet[] _labels = [];
    private byte[] _line = [];
    private int _count;

    [Params(false, true)]
    public bool SharedInstances { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _line = System.Text.Encoding.UTF8.GetBytes(
            "{\"level\":\"info\",\"ts\":\"2026-11-26T10:00:00.0000010Z\",\"msg\":\"request served\",\"method\":\"GET\"," +
            "\"path\":\"/api/orders/4711\",\"status\":200,\"duration_ms\":17,\"user_agent\":\"kube-probe/1.31\",\"trace_id\":\"000000009e3779b1\"}");
        _count = BatchBytes / _line.Length;
        var streams = new LabelSet[Files * 2];
        for (var i = 0; i < streams.Length; i++)
        {
            streams[i] = LabelSet.Create(
                new Label("namespace", $"shop-{i / 2 % 4}"), new Label("pod", $"checkout-{i / 2:D3}-7d9f8"), new Label("container", "api"),
                new Label("job", "pods"), new Label("stream", i % 2 == 0 ? "stdout" : "stderr"));
        }

        _labels = new LabelSet[_count];
        for (var n = 0; n < _count; n++)
        {
            var file = n / RunLength % Files;
            var stream = streams[(file * 2) + (n % 7 == 0 ? 1 : 0)];
            _labels[n] = SharedInstances ? stream : LabelSet.Create([.. stream]);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _builder.Dispose();

    /// <summary>One batch: every entry added (estimate, then add, as the push sink does), in file runs.</summary>
    [Benchmark]
    public long AddBatch()
    {
        _builder.Clear();
        for (var n = 0; n < _count; n++)
        {
            var labels = _labels[n];
            _builder.EstimateGrowth(labels, _line.Length);
            _builder.Add(labels, 1_732_611_600_000_000_000 + n, _line, (LogFields?)null);
        }

        return _builder.ProtobufLength;
    }
}
