using System.Text;
using BenchmarkDotNet.Attributes;
using Pipeline.Aggregator.LogQL;
using Pipeline.Model;

namespace Pipeline.Benchmarks.Aggregator.LogQL;

/// <summary>
/// LogQL over an in-memory store of ~100 MB of pod lines (two namespaces x 50 pods, one hour): a line-filter scan
/// (MB/s per core = <see cref="DataMegabytes"/> / mean time) and Grafana's typical rate-by-pod over that hour.
/// </summary>
[MemoryDiagnoser]
public class LogQLBenchmarks
{
    private const string Tenant = "bench";
    private const long Start = 1_700_000_000L * 1_000_000_000L;
    private const long Hour = 3_600_000_000_000L;
    private const int LinesPerPod = 5_500;
    private const int JsonPods = 10;

    private InMemoryLogStore _store = new();
    private LogQLEngine _engine = null!;

    /// <summary>Megabytes of lines of namespace "a" (what the filter queries scan).</summary>
    public static double DataMegabytes { get; private set; }

    /// <summary>Megabytes of lines of namespace "j" (what the json queries parse).</summary>
    public static double JsonMegabytes { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        _store = new InMemoryLogStore();
        var random = new Random(42);
        var builder = new StringBuilder(256);
        long bytesA = 0, bytesJ = 0;
        string[] levels = ["info", "info", "info", "debug", "warn"];
        string[] paths = ["/api/v1/items", "/api/v1/users", "/healthz", "/metrics", "/api/v1/orders"];
        for (var ns = 0; ns < 2; ns++)
        {
            for (var pod = 0; pod < 50; pod++)
            {
                var labels = LabelSet.Create(
                    new Label("namespace", ns == 0 ? "a" : "b"),
                    new Label("pod", $"web-{pod:D2}-7f9c4b"),
                    new Label("container", "web"),
                    new Label("job", "default/web"));
                for (var i = 0; i < LinesPerPod; i++)
                {
                    var ts = Start + (long)i * Hour / LinesPerPod + pod * 1000;
                    builder.Clear();
                    builder.Append("2026-11-26T10:").Append(i % 60).Append(':').Append(i % 60).Append(".123456Z level=")
                        .Append(random.Next(1000) == 0 ? "error" : levels[random.Next(levels.Length)])
                        .Append(" caller=server.go:").Append(random.Next(100, 999))
                        .Append(" msg=\"request handled\" method=GET path=").Append(paths[random.Next(paths.Length)]).Append('/').Append(random.Next(100000))
                        .Append(" status=200 duration=").Append(random.Next(1, 500)).Append("ms trace_id=").Append(random.NextInt64().ToString("x16"))
                        .Append(" user_agent=\"Mozilla/5.0 (X11; Linux x86_64)\"");
                    var bytes = Encoding.UTF8.GetBytes(builder.ToString());
                    _store.Append(Tenant, labels, ts, bytes);
                    if (ns == 0)
                    {
                        bytesA += bytes.Length;
                    }
                }
            }
        }

        // Namespace "j": JSON lines for the json parser queries (pod names distinct from the other namespaces).
        for (var pod = 0; pod < JsonPods; pod++)
        {
            var labels = LabelSet.Create(
                new Label("namespace", "j"),
                new Label("pod", $"api-{pod:D2}-5c8d"),
                new Label("container", "api"),
                new Label("job", "default/api"));
            for (var i = 0; i < LinesPerPod; i++)
            {
                var ts = Start + (long)i * Hour / LinesPerPod + pod * 1000;
                builder.Clear();
                builder.Append("{\"ts\":\"2026-11-26T10:").Append(i % 60).Append(':').Append(i % 60).Append(".123456Z\",\"level\":\"")
                    .Append(random.Next(1000) == 0 ? "error" : levels[random.Next(levels.Length)])
                    .Append("\",\"caller\":\"server.go:").Append(random.Next(100, 999))
                    .Append("\",\"msg\":\"request handled\",\"method\":\"GET\",\"path\":\"").Append(paths[random.Next(paths.Length)]).Append('/').Append(random.Next(100000))
                    .Append("\",\"status\":200,\"duration_ms\":").Append(random.Next(1, 500)).Append(",\"trace_id\":\"").Append(random.NextInt64().ToString("x16"))
                    .Append("\",\"user\":{\"id\":").Append(random.Next(1000)).Append(",\"name\":\"bo\"}}");
                var bytes = Encoding.UTF8.GetBytes(builder.ToString());
                _store.Append(Tenant, labels, ts, bytes);
                bytesJ += bytes.Length;
            }
        }

        DataMegabytes = bytesA / 1e6;
        JsonMegabytes = bytesJ / 1e6;
        _engine = new LogQLEngine(_store, new LogQLEngineOptions { Timeout = TimeSpan.FromMinutes(10) });
        Console.WriteLine($"// store: {_store.EntryCount} entries, {_store.ByteCount / 1e6:F1} MB; namespace a: {DataMegabytes:F1} MB; namespace j: {JsonMegabytes:F1} MB");
    }

    /// <summary>A log query whose rare matches make it scan the whole namespace (limit 100 backward).</summary>
    [Benchmark]
    public long LineFilterScan_LogQuery()
    {
        var result = _engine.QueryRange(Tenant, "{namespace=\"a\"} |= \"level=error caller=server.go:999\"", Start, Start + Hour, 1, 100, Direction.Backward);
        return result.Statistics.BytesScanned;
    }

    /// <summary>The same filter as a count over the hour: every line of namespace "a" goes through the byte filter once.</summary>
    [Benchmark]
    public long LineFilterScan_CountOverTime()
    {
        var result = _engine.QueryInstant(Tenant, "sum(count_over_time({namespace=\"a\"} |= \"error\" [1h]))", Start + Hour);
        return result.Statistics.BytesScanned;
    }

    /// <summary>Grafana's rate by pod over one hour with a 15 s step (241 points, 50 series).</summary>
    [Benchmark]
    public int SumByPodRate_1h()
    {
        var result = (MatrixResult)_engine.QueryRange(Tenant, "sum by (pod) (rate({namespace=\"a\"}[1m]))", Start, Start + Hour, 15_000_000_000L, 100, Direction.Backward);
        return result.Series.Count;
    }

    /// <summary>The newest 100 lines of one pod.</summary>
    [Benchmark]
    public int SinglePod_Limit100()
    {
        var result = (StreamsResult)_engine.QueryRange(Tenant, "{pod=\"web-07-7f9c4b\"}", Start, Start + Hour, 1, 100, Direction.Backward);
        return result.Streams.Count;
    }

    /// <summary>logfmt and a label filter on every line of namespace "a" (the parser's cost per line).</summary>
    [Benchmark]
    public double CountLogfmt_1h() => Count("sum(count_over_time({namespace=\"a\"} | logfmt | level=\"error\" [1h]))");

    /// <summary>pattern and a label filter on every line of namespace "a".</summary>
    [Benchmark]
    public double CountPattern_1h() => Count("sum(count_over_time({namespace=\"a\"} | pattern \"<_> level=<level> caller=<_> \" | level=\"warn\" [1h]))");

    /// <summary>regexp and a numeric label filter on every line of namespace "a".</summary>
    [Benchmark]
    public double CountRegexp_1h() => Count("sum(count_over_time({namespace=\"a\"} | regexp \"status=(?P<status>\\\\d+) duration=(?P<duration>\\\\d+)ms\" | duration > 400 [1h]))");

    /// <summary>json (every key, nested flattened) and a label filter on every line of namespace "j".</summary>
    [Benchmark]
    public double CountJson_1h() => Count("sum(count_over_time({namespace=\"j\"} | json | level=\"error\" [1h]))");

    /// <summary>json with two paths on every line of namespace "j".</summary>
    [Benchmark]
    public double CountJsonPaths_1h() => Count("sum(count_over_time({namespace=\"j\"} | json level=\"level\", user=\"user.name\" | level=\"error\" [1h]))");

    /// <summary>logfmt, line_format and a filter on the rewritten line, over every line of namespace "a" (rare matches).</summary>
    [Benchmark]
    public int LineFormat_Limit100()
    {
        var result = (StreamsResult)_engine.QueryRange(Tenant, "{namespace=\"a\"} | logfmt | line_format \"{{.level | ToUpper}} {{.path}}\" |= \"ERROR\"", Start, Start + Hour, 1, 100, Direction.Backward);
        return result.Streams.Count;
    }

    private double Count(string query)
    {
        var result = (VectorResult)_engine.QueryInstant(Tenant, query, Start + Hour);
        return result.Samples.Count == 0 ? 0 : result.Samples[0].Value;
    }
}
