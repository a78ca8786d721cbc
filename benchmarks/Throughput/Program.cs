using System.Diagnostics;
using System.Globalization;
using Pipeline.Throughput;

// End-to-end throughput of the published agent process: it tails a generated kubelet-style CRI workload, runs the
// basic or the rich pipeline and pushes protobuf+snappy to an endpoint in this process. Prints, per agent build and
// config: lines per CPU-second and MB/s of the agent process, its peak RSS, and the time from its start to its first push.
//
//   dotnet publish samples/Agent -c Release -o /tmp/agent-jit
//   dotnet publish samples/Agent -c Release -r linux-x64 -p:PublishAot=true -o /tmp/agent-aot
//   dotnet run -c Release --project benchmarks/Throughput -- --agent jit=/tmp/agent-jit/pipeline-agent \
//       --agent aot=/tmp/agent-aot/pipeline-agent [--config basic|rich|both] [--size 600MB] [--files 16] [--runs 1]
//       [--down 30] [--dir /tmp/pipeline-throughput]
var size = 600L << 20;
var files = 16;
var runs = 1;
var down = TimeSpan.Zero;
var dir = Path.Combine(Path.GetTempPath(), "pipeline-throughput");
var configs = new List<string>();
var agents = new List<(string Name, string Path)>();
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--size": size = ParseSize(args[++i]); break;
        case "--files": files = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--runs": runs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--down": down = TimeSpan.FromSeconds(double.Parse(args[++i], CultureInfo.InvariantCulture)); break;
        case "--dir": dir = args[++i]; break;
        case "--config" when args[i + 1] == "both": configs.AddRange(["basic", "rich"]); i++; break;
        case "--config" when args[i + 1] is "basic" or "rich": configs.Add(args[++i]); break;
        case "--agent":
            var value = args[++i];
            var equals = value.IndexOf('=', StringComparison.Ordinal);
            agents.Add(equals > 0 ? (value[..equals], value[(equals + 1)..]) : (Path.GetFileName(Path.GetDirectoryName(value)) ?? value, value));
            break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

if (agents.Count == 0)
{
    // The agent built next to this tool (a project reference), run by the dotnet host: the JIT build.
    agents.Add(("jit", Path.Combine(AppContext.BaseDirectory, "pipeline-agent.dll")));
}

if (configs.Count == 0)
{
    configs.AddRange(["basic", "rich"]);
}

var workload = Workload.Ensure(dir, size, files);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"workload: {workload.FileCount} files, {workload.Bytes / 1e6:F0} MB, {workload.Lines:N0} lines in {workload.Root}"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessorCount} CPUs{(down > TimeSpan.Zero ? $", endpoint down for {down.TotalSeconds:F0} s from the first push" : "")}"));
Console.WriteLine("agent  config    lines/CPU-s     MB/s  CPU s   wall s  peak RSS  RSS@50%  first push  load");

await using var endpoint = await CountingEndpoint.StartAsync();
var failed = false;
for (var run = 0; run < runs; run++)
{
    foreach (var config in configs)
    {
        foreach (var (name, path) in agents)
        {
            var result = await RunAsync(name, path, config);
            if (result is null)
            {
                failed = true;
                continue;
            }

            Console.WriteLine(result);
        }
    }
}

return failed ? 1 : 0;

async Task<string?> RunAsync(string name, string agentPath, string config)
{
    var work = Path.Combine(dir, $"run-{Environment.ProcessId}");
    Directory.CreateDirectory(work);
    var positions = Path.Combine(work, "positions.yaml");
    File.Delete(positions);
    var configFile = Path.Combine(work, $"{config}.yaml");
    File.WriteAllText(configFile, AgentConfigs.Render(config, endpoint.PushUrl, positions, workload.Glob));
    var expected = config == "rich" ? workload.Lines - workload.DebugLines : workload.Lines;
    endpoint.Reset();
    if (down > TimeSpan.Zero)
    {
        endpoint.GoDownAtFirstPush(down);
    }

    var load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
    var logFile = Path.Combine(work, $"{name}-{config}.log");
    var started = endpoint.Now;
    using var agent = AgentProcess.Start(agentPath, configFile, logFile);
    long halfRss = 0;
    var lastProgress = Stopwatch.StartNew();
    long lastEntries = 0;
    while (endpoint.Entries < expected)
    {
        // A benchmark, not a test: sample on wall time.
        await Task.Delay(50);
        var entries = endpoint.Entries;
        if (halfRss == 0 && entries >= expected / 2)
        {
            halfRss = agent.RssBytes;
        }

        if (entries != lastEntries || endpoint.Refused > 0 && entries == 0)
        {
            lastEntries = entries;
            lastProgress.Restart();
        }

        if (agent.HasExited || endpoint.Error is not null || lastProgress.Elapsed > TimeSpan.FromSeconds(60) + down)
        {
            Console.Error.WriteLine($"{name} {config}: stopped at {entries:N0} of {expected:N0} entries" +
                $" (exited: {agent.HasExited}, endpoint error: {endpoint.Error ?? "none"}); see {logFile}");
            return null;
        }
    }

    var cpu = agent.CpuTime.TotalSeconds;
    var peak = agent.PeakRssBytes;
    var wall = (endpoint.LastPushTicks - started) / (double)Stopwatch.Frequency;
    var firstPush = (endpoint.FirstPushTicks - started) * 1000.0 / Stopwatch.Frequency;
    agent.Dispose();
    Directory.Delete(work, recursive: true);
    return string.Create(CultureInfo.InvariantCulture,
        $"{name,-6} {config,-6} {workload.Lines / cpu,14:N0} {workload.Bytes / 1e6 / wall,8:F1} {cpu,6:F2} {wall,8:F2} {peak / 1e6,6:F1} MB {halfRss / 1e6,5:F1} MB {firstPush,8:F0} ms  {load}");
}

static long ParseSize(string text)
{
    var upper = text.ToUpperInvariant();
    long factor = upper.EndsWith("GB", StringComparison.Ordinal) ? 1L << 30 : upper.EndsWith("MB", StringComparison.Ordinal) ? 1L << 20 : 1;
    return (long)(double.Parse(upper.TrimEnd('G', 'M', 'B'), CultureInfo.InvariantCulture) * factor);
}
