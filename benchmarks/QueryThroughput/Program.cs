using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Pipeline.IngestThroughput;

// Whole-process CPU seconds per LogQL query: loads the ingest benchmark's pod lines (JSON, ~100 streams) into the
// published aggregator host (samples/Aggregator, Release) running as a process of its own, then runs each query of
// the set as an instant query over the last hour, --runs times, and prints the aggregator's CPU seconds
// (/proc/<pid>/stat utime+stime) and wall time per run, the lines it scanned and its answer's size.
//
//   dotnet run -c Release --project benchmarks/QueryThroughput -- [--lines 2500000] [--streams 100] [--clients 4]
//       [--runs 3] [--aggregator path/to/Aggregator.dll or native Aggregator] [--aot]
var lines = 2_500_000;
var streams = 100;
var clients = 4;
var runs = 3;
string? aggregator = null;
var aot = false;
var noDiscovery = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--lines": lines = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--streams": streams = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--clients": clients = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--aggregator": aggregator = args[++i]; break;
        case "--aot": aot = true; break;
        case "--no-discovery": noDiscovery = true; break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}");
            return 2;
    }
}

(string Name, string Query)[] queries =
[
    ("line filter count", "sum(count_over_time({bench=\"ingest\"} |= \"error\" [1h]))"),
    ("json status>=500 by namespace", "sum by (namespace) (count_over_time({bench=\"ingest\"} | json | status >= 500 [1h]))"),
    ("regex rate topk by pod", "topk(10, sum by (pod) (rate({bench=\"ingest\"} |~ \"upstream|cache\" [1h])))"),
    ("quantile duration_ms by namespace", "quantile_over_time(0.99, {bench=\"ingest\"} | json | unwrap duration_ms [1h]) by (namespace)"),
];

var work = Path.Combine(Path.GetTempPath(), $"pipeline-query-{Environment.ProcessId}");
Directory.CreateDirectory(work);
try
{
    aggregator ??= AggregatorProcess.Publish(work, aot);
    var workload = Workload.Generate(lines, streams, clients, 1 << 20);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"workload: {workload.Lines:N0} lines ({workload.LineBytes / 1e6:F0} MB of JSON lines) in {streams} streams"));
    var config = Path.Combine(work, "aggregator.yaml");
    File.WriteAllText(config, """
        limits:
          ingestion_rate_mb: 0
          per_stream_rate_limit_mb: 0
        """ + (noDiscovery ? "\n  discover_service_name: []\n  discover_log_levels: false\n" : string.Empty));
    var port = AggregatorProcess.FreePort();
    using var host = AggregatorProcess.Start(aggregator, port, Path.Combine(work, "data"), config, []);
    using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromMinutes(5) };
    await host.WaitReadyAsync(http);
    var pushes = new Task[clients];
    for (var c = 0; c < clients; c++)
    {
        var client = c;
        pushes[c] = Task.Run(async () =>
        {
            foreach (var body in workload.Bodies[client])
            {
                await Workload.PushAsync(http, body);
            }
        });
    }

    await Task.WhenAll(pushes);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loaded; aggregator at {host.CpuSeconds():F2} CPU s, peak RSS {host.PeakRssBytes() / 1e6:F0} MB"));

    var time = workload.LastNs + 1_000_000_000;
    foreach (var (name, query) in queries)
    {
        for (var run = 1; run <= runs; run++)
        {
            var before = host.CpuSeconds();
            var clock = Stopwatch.StartNew();
            using var response = await http.GetAsync(string.Create(CultureInfo.InvariantCulture, $"loki/api/v1/query?query={Uri.EscapeDataString(query)}&time={time}"));
            var text = await response.Content.ReadAsStringAsync();
            var wall = clock.Elapsed.TotalSeconds;
            var cpu = host.CpuSeconds() - before;
            string detail;
            if (response.IsSuccessStatusCode)
            {
                using var json = JsonDocument.Parse(text);
                var data = json.RootElement.GetProperty("data");
                var scanned = data.GetProperty("stats").GetProperty("summary").GetProperty("totalLinesProcessed").GetInt64();
                detail = string.Create(CultureInfo.InvariantCulture, $"{data.GetProperty("result").GetArrayLength()} series, {scanned:N0} lines scanned");
            }
            else
            {
                detail = $"HTTP {(int)response.StatusCode}: {text.Trim()}";
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-36} run {run}: {cpu,6:F2} CPU s, {wall,6:F2} s wall; {detail}"));
        }
    }

    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak RSS {host.PeakRssBytes() / 1e6:F0} MB"));
    await host.StopAsync();
    return 0;
}
finally
{
    try
    {
        Directory.Delete(work, recursive: true);
    }
    catch (IOException)
    {
    }
}
