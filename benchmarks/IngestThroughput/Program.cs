using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Pipeline.Loki.Protocol;
using Pipeline.Model;
using Pipeline.IngestThroughput;
using static Pipeline.IngestThroughput.AggregatorProcess;
using static Pipeline.IngestThroughput.Workload;

// End-to-end aggregator ingest: generates pod lines in ~100 streams, pre-encodes them as ~1 MiB (uncompressed)
// protobuf+snappy push bodies, starts the published aggregator host (samples/Aggregator, Release) as a process of its
// own on 127.0.0.1 with a temporary data folder, pushes with concurrent clients, checks that every push got 204 and
// that the aggregator stores every line, and prints the aggregator process's CPU seconds (/proc/<pid>/stat utime+stime),
// peak RSS (VmHWM), lines per CPU-second and MB/s.
//
//   dotnet run -c Release --project benchmarks/IngestThroughput -- [--lines 2500000] [--streams 100] [--clients 4]
//       [--body-bytes 1048576] [--aggregator path/to/Aggregator.dll or native Aggregator] [--aot] [--env NAME=VALUE]...
// Without --aggregator the tool publishes samples/Aggregator itself: the JIT build, or with --aot the native AOT build
// the image ships (needs clang). The native AOT build has its gen0 budget baked in (samples/Aggregator/Aggregator.csproj);
// a JIT build reads that knob only from the environment, so measure it as deployed with --env DOTNET_GCgen0size=1000000.
var lines = 2_500_000;
var streams = 100;
var clients = 4;
var bodyBytes = 1 << 20;
string? aggregator = null;
var aot = false;
var noDiscovery = false;
var showOutput = false;
var environment = new List<(string Name, string Value)>();
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--lines": lines = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--streams": streams = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--clients": clients = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--body-bytes": bodyBytes = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--aggregator": aggregator = args[++i]; break;
        case "--aot": aot = true; break;
        case "--no-discovery": noDiscovery = true; break;
        case "--show-output": showOutput = true; break;
        case "--env":
            var pair = args[++i];
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            environment.Add((pair[..eq], pair[(eq + 1)..]));
            break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}");
            return 2;
    }
}

if (streams % clients != 0)
{
    Console.Error.WriteLine("--streams must be a multiple of --clients (each client owns its streams, as each node's agent does)");
    return 2;
}

var work = Path.Combine(Path.GetTempPath(), $"pipeline-ingest-{Environment.ProcessId}");
Directory.CreateDirectory(work);
try
{
    aggregator ??= Publish(work, aot);
    var clock = Stopwatch.StartNew();
    var workload = Workload.Generate(lines, streams, clients, bodyBytes);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"workload: {workload.Lines:N0} lines ({workload.LineBytes / 1e6:F0} MB of lines, {workload.LineBytes / (double)workload.Lines:F0} bytes per line on average) " +
        $"in {streams} streams, {workload.BodyCount} bodies of {workload.ProtobufBytes / (double)workload.BodyCount / 1024:F0} KiB protobuf " +
        $"({workload.CompressedBytes / (double)workload.BodyCount / 1024:F0} KiB snappy), {clients} clients; generated in {clock.Elapsed.TotalSeconds:F1} s"));

    var data = Path.Combine(work, "data");
    var config = Path.Combine(work, "aggregator.yaml");
    File.WriteAllText(config, $"""
        limits:
          ingestion_rate_mb: 0          # measure the aggregator, not its rate limits
          per_stream_rate_limit_mb: 0
        """ + (noDiscovery ? "\n  discover_service_name: []\n  discover_log_levels: false\n" : string.Empty));
    var port = FreePort();
    using var host = AggregatorProcess.Start(aggregator, port, data, config, environment);
    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients * 2 }) { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromMinutes(5) };
    await host.WaitReadyAsync(http);
    Console.WriteLine($"aggregator pid {host.Id} ready on 127.0.0.1:{port}");

    var before = host.CpuSeconds();
    clock.Restart();
    var retries = new int[clients];
    var pushes = new Task[clients];
    for (var c = 0; c < clients; c++)
    {
        var client = c;
        pushes[c] = Task.Run(async () =>
        {
            foreach (var body in workload.Bodies[client])
            {
                retries[client] += await PushAsync(http, body);
            }
        });
    }

    await Task.WhenAll(pushes);
    var elapsed = clock.Elapsed.TotalSeconds;
    var after = host.CpuSeconds();
    var peakRss = host.PeakRssBytes();
    var cpu = after - before;

    var stored = await CountStoredAsync(http, workload);
    var load = File.ReadAllText("/proc/loadavg").Split(' ');
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"every push answered 204 ({retries.Sum()} retried after 429/503); stored {stored:N0} of {workload.Lines:N0} lines"));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"aggregator: {cpu:F2} CPU s for the ingest ({after:F2} CPU s since its start), {elapsed:F2} s wall, " +
        $"{workload.Lines / cpu:N0} lines per CPU-second, {workload.LineBytes / 1e6 / cpu:F1} MB per CPU-second, " +
        $"{workload.LineBytes / 1e6 / elapsed:F1} MB/s, {workload.Lines / elapsed:N0} lines/s, peak RSS {peakRss / 1e6:F1} MB " +
        $"(load average {load[0]} {load[1]} {load[2]}; the WAL fsynced before every acknowledgement)"));
    await host.StopAsync();
    if (showOutput)
    {
        Console.WriteLine(host.Output());
    }

    return stored == workload.Lines ? 0 : 1;
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

static async Task<long> CountStoredAsync(HttpClient http, Workload workload)
{
    var query = Uri.EscapeDataString("{bench=\"ingest\"}");
    var url = string.Create(CultureInfo.InvariantCulture, $"loki/api/v1/index/stats?query={query}&start={workload.FirstNs}&end={workload.LastNs}");
    using var response = await http.GetAsync(url);
    var text = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"index/stats answered {(int)response.StatusCode}: {text}");
    }

    using var json = JsonDocument.Parse(text);
    var root = json.RootElement.TryGetProperty("data", out var data) ? data : json.RootElement;
    return root.GetProperty("entries").GetInt64();
}
