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
        """);
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

static async Task<int> PushAsync(HttpClient http, byte[] body)
{
    for (var attempt = 0; ; attempt++)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        using var response = await http.PostAsync("loki/api/v1/push", content);
        if (response.StatusCode == HttpStatusCode.NoContent)
        {
            return attempt;
        }

        var message = await response.Content.ReadAsStringAsync();
        if ((response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable) && attempt < 100)
        {
            // A benchmark, not a test: back off on wall time as a Loki client would.
            await Task.Delay(TimeSpan.FromMilliseconds(50 * Math.Min(attempt + 1, 20)));
            continue;
        }

        throw new InvalidOperationException($"push answered {(int)response.StatusCode}: {message}");
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

static string Publish(string work, bool aot)
{
    var root = AppContext.BaseDirectory;
    while (!File.Exists(Path.Combine(root, "Pipeline.sln")))
    {
        root = Path.GetDirectoryName(root.TrimEnd(Path.DirectorySeparatorChar)) ?? throw new InvalidOperationException("Pipeline.sln not found above the tool; pass --aggregator");
    }

    var output = Path.Combine(work, "aggregator");
    var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true };
    foreach (var arg in new[] { "publish", Path.Combine(root, "samples", "Aggregator", "Aggregator.csproj"), "-c", "Release", "-o", output, "--nologo", "-v", "q" })
    {
        info.ArgumentList.Add(arg);
    }

    if (aot)
    {
        info.ArgumentList.Add("-r");
        info.ArgumentList.Add(RuntimeInformation.RuntimeIdentifier);
        info.ArgumentList.Add("-p:PublishAot=true");
    }

    Console.WriteLine($"publishing samples/Aggregator (Release{(aot ? ", native AOT" : string.Empty)})...");
    using var process = Process.Start(info)!;
    var log = process.StandardOutput.ReadToEnd();
    process.WaitForExit();
    if (process.ExitCode != 0)
    {
        throw new InvalidOperationException($"dotnet publish failed:\n{log}");
    }

    return Path.Combine(output, aot ? "Aggregator" : "Aggregator.dll");
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

/// <summary>Pre-encoded push bodies: each client owns streams / clients streams and pushes its bodies in order.</summary>
internal sealed class Workload
{
    private static readonly string[] s_paths = ["/api/cart", "/api/checkout", "/api/orders/4711", "/healthz", "/api/search?q=boots", "/api/users/me/preferences"];
    private static readonly string[] s_levels = ["info", "info", "info", "warn", "error", "debug"];
    private static readonly string[] s_messages = ["request served", "cache miss, loading from upstream", "slow upstream response", "request served"];

    public required List<byte[]>[] Bodies { get; init; }

    public long Lines { get; init; }

    public long LineBytes { get; init; }

    public long ProtobufBytes { get; init; }

    public long CompressedBytes { get; init; }

    public int BodyCount { get; init; }

    public long FirstNs { get; init; }

    public long LastNs { get; init; }

    public static Workload Generate(int lines, int streams, int clients, int bodyBytes)
    {
        var labels = new LabelSet[streams];
        for (var s = 0; s < streams; s++)
        {
            var ns = $"shop-{s % 5}";
            labels[s] = LabelSet.Create(
                new Label("bench", "ingest"),
                new Label("namespace", ns),
                new Label("pod", $"checkout-{s:D3}-7d9f8c6b5-{(s * 7919) % 100000:D5}"),
                new Label("container", s % 3 == 0 ? "sidecar" : "api"),
                new Label("job", $"{ns}/checkout"));
        }

        // Timestamps: ten minutes ago onwards, 1 µs apart within each stream (inside Loki's default acceptance window).
        var start = (DateTimeOffset.UtcNow.AddMinutes(-10) - DateTimeOffset.UnixEpoch).Ticks * 100;
        var perStream = new long[streams];
        var random = new Random(42);
        var bodies = new List<byte[]>[clients];
        var perClient = streams / clients;
        long lineBytes = 0, protobuf = 0, compressed = 0, produced = 0, last = start;
        var count = 0;
        var text = new StringBuilder(256);
        var buffer = new byte[1024];
        using var builder = new PushRequestBuilder();
        using var output = new PooledBufferWriter();
        for (var c = 0; c < clients; c++)
        {
            bodies[c] = [];
            var share = (lines / clients) + (c < lines % clients ? 1 : 0);
            for (var n = 0; n < share; n++)
            {
                var stream = (c * perClient) + random.Next(perClient);
                var ts = start + (perStream[stream]++ * 1000);
                last = Math.Max(last, ts);
                var time = DateTimeOffset.UnixEpoch.AddTicks(ts / 100);
                text.Clear()
                    .Append("{\"level\":\"").Append(s_levels[random.Next(s_levels.Length)])
                    .Append("\",\"ts\":\"").Append(time.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture))
                    .Append("\",\"msg\":\"").Append(s_messages[random.Next(s_messages.Length)])
                    .Append("\",\"method\":\"GET\",\"path\":\"").Append(s_paths[random.Next(s_paths.Length)])
                    .Append("\",\"status\":").Append(random.Next(10) == 0 ? 500 : 200)
                    .Append(",\"duration_ms\":").Append(random.Next(2500))
                    .Append(",\"user\":\"u-").Append(random.Next(100_000).ToString("D5", CultureInfo.InvariantCulture))
                    .Append("\",\"trace_id\":\"").Append(random.NextInt64().ToString("x16", CultureInfo.InvariantCulture)).Append("\"}");
                var length = Encoding.UTF8.GetBytes(text.ToString(), buffer);
                builder.Add(labels[stream], ts, buffer.AsSpan(0, length), ReadOnlySpan<Label>.Empty);
                lineBytes += length;
                produced++;
                if (builder.ProtobufLength >= bodyBytes)
                {
                    Flush(c);
                }
            }

            Flush(c);
        }

        return new Workload
        {
            Bodies = bodies,
            Lines = produced,
            LineBytes = lineBytes,
            ProtobufBytes = protobuf,
            CompressedBytes = compressed,
            BodyCount = count,
            FirstNs = start,
            LastNs = last,
        };

        void Flush(int client)
        {
            if (builder.EntryCount == 0)
            {
                return;
            }

            output.Clear();
            protobuf += PushBodyEncoder.WriteSnappyProtobuf(builder, output);
            compressed += output.WrittenCount;
            bodies[client].Add(output.WrittenSpan.ToArray());
            count++;
            builder.Clear();
        }
    }
}

/// <summary>The aggregator host as a process of its own, measured through /proc.</summary>
internal sealed partial class AggregatorProcess : IDisposable
{
    private const double ClockTicksPerSecond = 100; // USER_HZ, what /proc/<pid>/stat counts in on Linux.

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private AggregatorProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public static AggregatorProcess Start(string path, int port, string data, string config, List<(string Name, string Value)> environment)
    {
        var info = new ProcessStartInfo(path.EndsWith(".dll", StringComparison.Ordinal) ? "dotnet" : path)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (path.EndsWith(".dll", StringComparison.Ordinal))
        {
            info.ArgumentList.Add(path);
        }

        foreach (var arg in new[] { "--listen", $"127.0.0.1:{port}", "--data", data, "--config", config })
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        var process = Process.Start(info)!;
        var self = new AggregatorProcess(process);
        process.OutputDataReceived += (_, e) => self.Append(e.Data);
        process.ErrorDataReceived += (_, e) => self.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return self;
    }

    public async Task WaitReadyAsync(HttpClient http)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the aggregator exited with {_process.ExitCode}:\n{Output()}");
            }

            try
            {
                using var response = await http.GetAsync("ready");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"the aggregator did not become ready:\n{Output()}");
    }

    public double CpuSeconds()
    {
        // Fields after the command name (which is in parentheses and may hold spaces): utime is the 14th, stime the 15th.
        var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / ClockTicksPerSecond;
    }

    public long PeakRssBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    public async Task StopAsync()
    {
        // SIGTERM, as Kubernetes stops it: the host flushes its chunks and closes the WAL.
        _ = Kill(_process.Id, 15);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("the aggregator did not stop within 2 minutes; killing it");
            _process.Kill();
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    public string Output()
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
