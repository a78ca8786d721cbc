using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Pipeline.Aggregator.Http;
using Pipeline.Hosting.Config;
using Pipeline.Samples.Agent;

namespace Pipeline.Samples.Tests.EndToEnd;

/// <summary>Real files, a real aggregator on 127.0.0.1 and a real agent, in this process; cleaned up on dispose.</summary>
internal sealed class Stack : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly HttpClient _http = new();

    public Stack()
    {
        Root = Directory.CreateTempSubdirectory("pipeline-e2e-").FullName;
        PodDir = Path.Combine(Root, "var", "log", "pods", "shop_checkout-1_0f3e7a", "api");
        Directory.CreateDirectory(PodDir);
        Port = FreePort();
    }

    public string Root { get; }

    public string PodDir { get; }

    public string LogFile => Path.Combine(PodDir, "0.log");

    public int Port { get; }

    public AggregatorServer? Aggregator { get; private set; }

    public AgentApp? Agent { get; private set; }

    public async Task StartAggregatorAsync()
    {
        Aggregator = await AggregatorServer.StartAsync(new AggregatorServerOptions
        {
            ListenAddress = $"127.0.0.1:{Port}",
            DataDirectory = Path.Combine(Root, "aggregator"),
        });
    }

    public async Task StopAggregatorAsync()
    {
        await Aggregator!.StopAsync();
        await Aggregator.DisposeAsync();
        Aggregator = null;
    }

    public async Task StartAgentAsync()
    {
        var config = AgentConfig.Parse($"""
            server:
              http_listen_address: 127.0.0.1
              http_listen_port: 0
              log_level: warn
            positions:
              filename: {Root}/positions.yaml
              sync_period: 1s
            target_config:
              sync_period: 1s
            clients:
              - url: http://127.0.0.1:{Port}/loki/api/v1/push
                batchwait: 100ms
                backoff_config:
                  min_period: 100ms
                  max_period: 1s
                  max_retries: 0
            scrape_configs:
              - job_name: pods
                pipeline_stages:
                  - cri: {"{}"}
                static_configs:
                  - labels:
                      job: pods
                      __path__: {Root}/var/log/pods/*/*/*.log
            """);
        Agent = AgentApp.Create(config);
        await Agent.StartAsync();
    }

    public async Task StopAgentAsync()
    {
        using var deadline = new CancellationTokenSource(Timeout);
        await Agent!.StopAsync(deadline.Token);
        await Agent.DisposeAsync();
        Agent = null;
    }

    /// <summary>Appends CRI lines "line N" for N in [from, to], stamped now.</summary>
    public void WriteLines(int from, int to)
    {
        var text = new StringBuilder();
        for (var n = from; n <= to; n++)
        {
            var now = DateTime.UtcNow;
            text.Append(now.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture)).Append("00Z stdout F line ").Append(n).Append('\n');
        }

        File.AppendAllText(LogFile, text.ToString());
    }

    /// <summary>Rotates like the kubelet: rename the live file away and start a new one.</summary>
    public void Rotate() => File.Move(LogFile, LogFile + "." + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));

    /// <summary>The stored lines of <c>{job="pods"}</c> in the last hour, with their labels.</summary>
    public async Task<List<(string Line, Dictionary<string, string> Labels)>> QueryAsync(string baseUrl)
    {
        var url = $"{baseUrl.TrimEnd('/')}/loki/api/v1/query_range?query={Uri.EscapeDataString("{job=\"pods\"}")}&limit=5000&direction=forward";
        using var response = await _http.GetAsync(url);
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var lines = new List<(string, Dictionary<string, string>)>();
        foreach (var stream in json.RootElement.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var labels = stream.GetProperty("stream").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
            foreach (var value in stream.GetProperty("values").EnumerateArray())
            {
                lines.Add((value[1].GetString()!, labels));
            }
        }

        return lines;
    }

    /// <summary>Polls the aggregator until <paramref name="count"/> distinct lines are stored (bounded by <see cref="Timeout"/>).</summary>
    public async Task<List<(string Line, Dictionary<string, string> Labels)>> WaitForLinesAsync(int count)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var lines = await QueryAsync($"http://127.0.0.1:{Port}");
            if (lines.Select(l => l.Line).Distinct().Count() >= count || DateTime.UtcNow > deadline)
            {
                return lines;
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Agent is not null)
        {
            await StopAgentAsync();
        }

        if (Aggregator is not null)
        {
            await StopAggregatorAsync();
        }

        _http.Dispose();
        Directory.Delete(Root, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
