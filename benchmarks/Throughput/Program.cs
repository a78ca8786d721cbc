using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Pipeline.Hosting.Config;
using Pipeline.Runtime;

// End-to-end agent throughput: tail a generated kubelet-style CRI workload -> cri -> path labels -> batch ->
// protobuf+snappy push, into a null endpoint (a separate process) or a given URL. Prints MB/s, lines/s, CPU
// seconds and peak RSS of this (the agent's) process.
//
//   dotnet run -c Release --project benchmarks/Throughput -- [--size 1GB] [--dir /tmp/pipeline-throughput] [--target null|<push url>]
if (args.Length > 0 && args[0] == "--null-endpoint")
{
    return await NullEndpoint.RunAsync();
}

var size = 1L << 30;
var dir = Path.Combine(Path.GetTempPath(), "pipeline-throughput");
var target = "null";
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--size": size = ParseSize(args[++i]); break;
        case "--dir": dir = args[++i]; break;
        case "--target": target = args[++i]; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

var workload = Workload.Ensure(dir, size);
Console.WriteLine($"workload: {workload.Files.Count} files, {workload.Bytes / 1e6:F0} MB, {workload.Lines:N0} lines in {workload.Root}");

using var endpoint = target == "null" ? NullEndpoint.Start() : null;
var url = endpoint?.Url ?? target;
var positions = Path.Combine(dir, $"positions-{Environment.ProcessId}.yaml");
var yaml = $"""
    positions:
      filename: {positions}
    clients:
      - url: {url}
        batchwait: 1s
        batchsize: 1048576
    scrape_configs:
      - job_name: pods
        pipeline_stages:
          - cri: {"{}"}
        static_configs:
          - labels:
              job: pods
              __path__: {workload.Root}/*/*/*.log
    """;
var config = AgentConfig.Parse(yaml, "throughput.yaml");
var factory = new AgentPipelineFactory(config);
using var loggerFactory = LoggerFactory.Create(b => b.AddConsole().SetMinimumLevel(LogLevel.Warning));
var pipeline = factory.Build(new PipelineOptions { Name = "throughput", LoggerFactory = loggerFactory }, ClientSinks.Create);

var process = Process.GetCurrentProcess();
var cpuBefore = process.TotalProcessorTime;
var clock = Stopwatch.StartNew();
await pipeline.StartAsync();
var source = factory.Sources["pods"];
while (true)
{
    // A benchmark, not a test: poll the committed positions on wall time.
    await Task.Delay(200);
    var targets = source.Targets;
    var committed = targets.Sum(t => t.CommittedPosition);
    if (targets.Count == workload.Files.Count && committed >= workload.Bytes)
    {
        break;
    }

    if (pipeline.Completion.IsCompleted)
    {
        Console.Error.WriteLine($"pipeline stopped early: {pipeline.Completion.Exception?.GetBaseException().Message}");
        return 1;
    }
}

var elapsed = clock.Elapsed.TotalSeconds;
process.Refresh();
var cpu = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
await pipeline.StopAsync();
File.Delete(positions);
var peakRss = PeakRssBytes();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{workload.Bytes / 1e6 / elapsed:F1} MB/s, {workload.Lines / elapsed:N0} lines/s, {elapsed:F2} s wall, {cpu:F2} CPU s, " +
    $"{workload.Lines / cpu:N0} lines per CPU-second, peak RSS {peakRss / 1e6:F1} MB"));
return 0;

static long ParseSize(string text)
{
    var upper = text.ToUpperInvariant();
    long factor = upper.EndsWith("GB", StringComparison.Ordinal) ? 1L << 30 : upper.EndsWith("MB", StringComparison.Ordinal) ? 1L << 20 : 1;
    return (long)(double.Parse(upper.TrimEnd('G', 'M', 'B'), CultureInfo.InvariantCulture) * factor);
}

static long PeakRssBytes()
{
    foreach (var line in File.ReadLines("/proc/self/status"))
    {
        if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
        {
            return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
        }
    }

    return 0;
}

/// <summary>A kubelet-style tree of CRI logs of about the requested size, reused when already there.</summary>
internal sealed record Workload(string Root, IReadOnlyList<string> Files, long Bytes, long Lines)
{
    private const int FileCount = 16;

    public static Workload Ensure(string dir, long size)
    {
        var root = Path.Combine(dir, $"pods-{size}");
        var marker = Path.Combine(root, ".complete");
        if (!File.Exists(marker))
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }

            Generate(root, size);
            File.WriteAllText(marker, "ok");
        }

        var files = Directory.GetFiles(root, "*.log", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        long bytes = 0, lines = 0;
        foreach (var file in files)
        {
            bytes += new FileInfo(file).Length;
        }

        lines = long.Parse(File.ReadAllText(Path.Combine(root, ".lines")), CultureInfo.InvariantCulture);
        return new Workload(root, files, bytes, lines);
    }

    private static void Generate(string root, long size)
    {
        var perFile = size / FileCount;
        long lines = 0;
        var paths = new[] { "/api/cart", "/api/checkout", "/api/orders/4711", "/healthz", "/api/search?q=boots" };
        var levels = new[] { "info", "info", "info", "warn", "error", "debug" };
        var start = new DateTime(2026, 11, 26, 10, 0, 0, DateTimeKind.Utc);
        for (var f = 0; f < FileCount; f++)
        {
            var dir = Path.Combine(root, $"shop-{f % 4}_checkout-{f:D2}-7d9f8_{Guid.NewGuid():N}", "api");
            Directory.CreateDirectory(dir);
            using var writer = new StreamWriter(Path.Combine(dir, "0.log"), false, new UTF8Encoding(false), 1 << 20);
            long written = 0;
            var text = new StringBuilder(256);
            for (long n = 0; written < perFile; n++)
            {
                var time = start.AddTicks(n * 10);
                text.Clear()
                    .Append(time.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture)).Append("00Z ")
                    .Append(n % 7 == 0 ? "stderr" : "stdout").Append(" F ")
                    .Append("{\"level\":\"").Append(levels[n % levels.Length]).Append("\",\"ts\":\"")
                    .Append(time.ToString("O", CultureInfo.InvariantCulture)).Append("\",\"msg\":\"request served\",\"method\":\"GET\",\"path\":\"")
                    .Append(paths[n % paths.Length]).Append("\",\"status\":200,\"duration_ms\":").Append(n % 250)
                    .Append(",\"trace_id\":\"").Append((n * 2654435761L).ToString("x16", CultureInfo.InvariantCulture)).Append("\"}");
                writer.Write(text);
                writer.Write('\n');
                written += text.Length + 1;
                lines++;
            }
        }

        File.WriteAllText(Path.Combine(root, ".lines"), lines.ToString(CultureInfo.InvariantCulture));
    }
}

/// <summary>A Loki push endpoint that reads each body and answers 204, in a process of its own so it does not count against the agent.</summary>
internal sealed class NullEndpoint : IDisposable
{
    private readonly Process _process;

    private NullEndpoint(Process process, string url)
    {
        _process = process;
        Url = url;
    }

    public string Url { get; }

    public static NullEndpoint Start()
    {
        var self = Environment.ProcessPath!;
        var info = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardInput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(typeof(NullEndpoint).Assembly.Location);
        }

        info.ArgumentList.Add("--null-endpoint");
        var process = Process.Start(info)!;
        var url = process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("the null endpoint did not start");
        return new NullEndpoint(process, url);
    }

    public static async Task<int> RunAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapPost("/loki/api/v1/push", async (HttpContext context) =>
        {
            var buffer = new byte[64 * 1024];
            while (await context.Request.Body.ReadAsync(buffer) > 0)
            {
            }

            return Results.NoContent();
        });
        await app.StartAsync();
        Console.WriteLine($"{app.Urls.First()}/loki/api/v1/push");
        await Console.In.ReadLineAsync();
        await app.StopAsync();
        return 0;
    }

    public void Dispose()
    {
        _process.Kill();
        _process.Dispose();
    }
}
