using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Pipeline.Aggregator.Http;
using Pipeline.Diagnostics;
using Pipeline.Hosting.Config;
using Pipeline.Samples.Agent;

namespace Pipeline.Samples.Demo;

/// <summary>
/// The whole PLG stack on one machine: the aggregator (Loki's role), a simulated node writing kubelet-style pod
/// logs with rotation (or a real <c>/var/log/pods</c>), and the agent (Promtail's role) tailing it into the aggregator.
/// </summary>
public static class DemoApp
{
    /// <summary>The usage text.</summary>
    public const string Usage = "usage: Demo [--listen 127.0.0.1:3100] [--data ./demo-data] [--node-logs /var/log/pods] [--lines-per-second 300] [--duration <seconds>]";

    /// <summary>Runs the demo until Ctrl+C, <paramref name="cancellationToken"/> or <c>--duration</c>.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="output">Where the demo reports what flows.</param>
    /// <param name="started">Told the aggregator's address once everything runs.</param>
    /// <param name="cancellationToken">Stops the demo.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter output, Action<Uri>? started = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        string listen = "127.0.0.1:3100", data = Path.Combine(Path.GetTempPath(), "pipeline-demo-data");
        string? nodeLogs = null;
        var rate = 300;
        TimeSpan? duration = null;
        for (var i = 0; i < args.Length; i++)
        {
            var next = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--listen" when next is not null: listen = next; i++; break;
                case "--data" when next is not null: data = next; i++; break;
                case "--node-logs" when next is not null: nodeLogs = next; i++; break;
                case "--lines-per-second" when next is not null: rate = int.Parse(next, CultureInfo.InvariantCulture); i++; break;
                case "--duration" when next is not null: duration = TimeSpan.FromSeconds(double.Parse(next, CultureInfo.InvariantCulture)); i++; break;
                case "-h" or "--help": await output.WriteLineAsync(Usage).ConfigureAwait(false); return 0;
                default: await output.WriteLineAsync($"unknown or incomplete argument '{args[i]}'. {Usage}").ConfigureAwait(false); return 2;
            }
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (duration is { } limit)
        {
            stop.CancelAfter(limit);
        }

        using var loggerFactory = LoggerFactory.Create(b => b
            .AddSimpleConsole(o => o.SingleLine = true)
            .SetMinimumLevel(LogLevel.Warning));
        Directory.CreateDirectory(data);
        await using var aggregator = await AggregatorServer.StartAsync(
            new AggregatorServerOptions { ListenAddress = listen, DataDirectory = Path.Combine(data, "aggregator") },
            loggerFactory: loggerFactory,
            cancellationToken: stop.Token).ConfigureAwait(false);
        var baseUrl = aggregator.BaseAddress.ToString().TrimEnd('/');

        var simulator = nodeLogs is null ? new NodeSimulator(Path.Combine(data, "node"), TimeProvider.System, rate, rotateBytes: 512 * 1024) : null;
        var podsRoot = nodeLogs ?? simulator!.PodsRoot;
        Directory.CreateDirectory(podsRoot);
        var config = AgentConfig.Parse($"""
            server:
              http_listen_address: 127.0.0.1
              http_listen_port: 0
              log_level: warn
            positions:
              filename: {Path.Combine(data, "agent", "positions.yaml")}
            clients:
              - url: {baseUrl}/loki/api/v1/push
                batchwait: 500ms
            scrape_configs:
              - job_name: pods
                pipeline_stages:
                  - cri: {"{}"}
                  - json:
                      expressions:
                        level:
                  - logfmt:
                      mapping:
                        level:
                  - labels:
                      level:
                static_configs:
                  - labels:
                      job: pods
                      __path__: {podsRoot}/*/*/*.log
            """, "demo-agent.yaml");
        await using var agent = AgentApp.Create(config);
        await agent.StartAsync(stop.Token).ConfigureAwait(false);

        var sent = new SentCounter(agent.Pipeline!.Meter);
        var simulation = simulator?.RunAsync(stop.Token) ?? Task.CompletedTask;
        await output.WriteLineAsync($"""

            The stack is running: a node's pods write logs -> the agent tails them -> the aggregator stores them.
              aggregator (Loki API):  {baseUrl}
              explore page:           {baseUrl}/
              agent /targets:         {agent.Urls[0]}/targets
              agent /metrics:         {agent.Urls[0]}/metrics
              pod logs:               {podsRoot}
            Try:
              curl -G -s {baseUrl}/loki/api/v1/query_range --data-urlencode 'query={"{"}namespace="shop"{"}"} |= "error"' --data-urlencode limit=5
              curl -G -s {baseUrl}/loki/api/v1/query --data-urlencode 'query=sum by (level) (count_over_time({"{"}job="pods"{"}"}[1m]))'
              curl -s {baseUrl}/loki/api/v1/labels
            In Grafana: add a Loki data source with URL {baseUrl}.
            Ctrl+C stops everything cleanly.

            """).ConfigureAwait(false);
        started?.Invoke(aggregator.BaseAddress);

        using var http = new HttpClient { BaseAddress = aggregator.BaseAddress };
        using var ticker = new PeriodicTimer(TimeSpan.FromSeconds(5));
        long lastWritten = 0, lastSent = 0;
        try
        {
            while (await ticker.WaitForNextTickAsync(stop.Token).ConfigureAwait(false))
            {
                var stored = await StoredEntriesAsync(http, stop.Token).ConfigureAwait(false);
                var written = simulator?.LinesWritten ?? 0;
                var pushed = sent.Value;
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{DateTime.Now:HH:mm:ss}  written {written:N0} ({(written - lastWritten) / 5.0:N0}/s)  pushed {pushed:N0} ({(pushed - lastSent) / 5.0:N0}/s)  stored (last hour) {stored:N0}")).ConfigureAwait(false);
                (lastWritten, lastSent) = (written, pushed);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        await output.WriteLineAsync("stopping: the agent drains, the aggregator flushes").ConfigureAwait(false);
        await simulation.ConfigureAwait(false);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await agent.StopAsync(deadline.Token).ConfigureAwait(false);
        await aggregator.StopAsync(deadline.Token).ConfigureAwait(false);
        return 0;
    }

    private static async Task<long> StoredEntriesAsync(HttpClient http, CancellationToken cancellationToken)
    {
        try
        {
            using var stats = await http.GetFromJsonAsync<JsonDocument>("/loki/api/v1/index/stats?query=" + Uri.EscapeDataString("{job=\"pods\"}"), cancellationToken).ConfigureAwait(false);
            return stats!.RootElement.TryGetProperty("entries", out var entries) ? entries.GetInt64() : 0;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    /// <summary>Follows the agent's delivered-entries counter.</summary>
    private sealed class SentCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _value;

        public SentCounter(Meter meter)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, meter) && instrument.Name == PipelineInstruments.Sent)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == PipelineInstruments.ComponentTag && tag.Value is string component && component.StartsWith("client", StringComparison.Ordinal))
                    {
                        Interlocked.Add(ref _value, value);
                    }
                }
            });
            _listener.Start();
        }

        public long Value => Interlocked.Read(ref _value);

        public void Dispose() => _listener.Dispose();
    }
}
