using System.Text;
using BenchmarkDotNet.Attributes;
using Pipeline.Aggregator.Distributor;
using Pipeline.Model;

namespace Pipeline.Benchmarks.Aggregator.Distributor;

/// <summary>
/// The distributor's service name and level discovery: one operation runs <see cref="Lines"/> entries of one stream
/// (as a push carries them) through the stage, so ns/line = mean / <see cref="Lines"/>. Line shapes: logfmt, JSON, plain
/// text with a level word, plain text without one (the whole bounded search), and entries whose stream has a level label.
/// </summary>
[MemoryDiagnoser]
public class DiscoveryStageBenchmarks
{
    public const int Lines = 1000;

    private DiscoveryStage _stage = null!;
    private DiscardCounters _discards = null!;
    private LogEntry[] _entries = [];
    private LabelSet _labels = LabelSet.Empty;

    [Params("logfmt", "json", "plain", "plain-no-level", "level-label")]
    public string Shape { get; set; } = "logfmt";

    [GlobalSetup]
    public void Setup()
    {
        _discards = new DiscardCounters(null);
        _stage = new DiscoveryStage(new DistributorLimitsByTenant(new DistributorLimits(), new Dictionary<string, DistributorLimits>()), TimeProvider.System, _discards);
        _labels = Shape == "level-label"
            ? LabelSet.Create(new Label("namespace", "prod"), new Label("container", "api"), new Label("level", "info"))
            : LabelSet.Create(new Label("namespace", "prod"), new Label("container", "api"), new Label("pod", "api-7d9f8c6b5-x2x9z"));
        var random = new Random(1);
        _entries = new LogEntry[Lines];
        for (var i = 0; i < Lines; i++)
        {
            var line = Shape switch
            {
                "json" => $"{{\"ts\":\"2026-11-26T10:00:00Z\",\"caller\":\"handler.go:{random.Next(1000)}\",\"msg\":\"request served\",\"path\":\"/api/v1/items/{random.Next(100000)}\",\"status\":200,\"level\":\"info\"}}",
                "plain" => $"2026-11-26 10:00:00.123 [worker-{random.Next(16)}] INFO c.e.orders.Handler - request served path=/api/v1/items/{random.Next(100000)}".Replace("=", ":", StringComparison.Ordinal),
                "plain-no-level" => $"2026-11-26 10:00:00.123 [worker-{random.Next(16)}] c.e.orders.Handler - request served path /api/v1/items/{random.Next(100000)} in {random.Next(500)} ms",
                _ => $"ts=2026-11-26T10:00:00Z caller=handler.go:{random.Next(1000)} level=info msg=\"request served\" method=GET path=/api/v1/items/{random.Next(100000)} status=200 duration_ms={random.Next(500)}",
            };
            _entries[i] = new LogEntry();
            _entries[i].SetLine(Encoding.UTF8.GetBytes(line));
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _discards.Dispose();

    [Benchmark]
    public int Discover()
    {
        var levels = 0;
        foreach (var entry in _entries)
        {
            // Each entry arrives as the receiver hands it over: the stream's labels as pushed, no detected level yet.
            entry.Labels = _labels;
            entry.Metadata.Clear();
            _stage.Process(entry);
            levels += entry.Metadata.Count;
        }

        return levels;
    }
}
