using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Pipeline.Hosting.Config;
using Pipeline.Loki.Receiver;
using Pipeline.Model;
using Pipeline.Runtime;
using Pipeline.Testing;
using Xunit.Abstractions;

namespace Pipeline.Hosting.Tests.Config;

/// <summary>Promtail's <c>loki_push_api</c>: apps push to the node's agent, which relabels and forwards.</summary>
public sealed class LokiPushApiTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void Parse_ReadsServerLabelsAndTimestampPolicy()
    {
        var config = AgentConfig.Parse("""
            scrape_configs:
              - job_name: push
                loki_push_api:
                  server:
                    http_listen_address: 127.0.0.1
                    http_listen_port: 3500
                    grpc_listen_port: 3600
                  labels:
                    pushserver: push1
                  use_incoming_timestamp: true
            """);

        var push = config.ScrapeConfigs[0].LokiPushApi!;
        Assert.Equal("127.0.0.1", push.ListenAddress);
        Assert.Equal(3500, push.ListenPort);
        Assert.Equal([new KeyValuePair<string, string>("pushserver", "push1")], push.Labels);
        Assert.True(push.UseIncomingTimestamp);
    }

    [Fact]
    public void Parse_UseIncomingTimestamp_DefaultsToFalseLikePromtail()
    {
        var config = AgentConfig.Parse("scrape_configs:\n  - job_name: push\n    loki_push_api:\n      server:\n        http_listen_port: 3500\n");

        Assert.False(config.ScrapeConfigs[0].LokiPushApi!.UseIncomingTimestamp);
        Assert.Equal("0.0.0.0", config.ScrapeConfigs[0].LokiPushApi!.ListenAddress);
    }

    [Theory]
    [InlineData("    loki_push_api:\n      labels: {a: b}\n", "needs server.http_listen_port")]
    [InlineData("    loki_push_api:\n      server:\n        http_listen_port: 3500\n      bogus: 1\n", "bogus")]
    [InlineData("    loki_push_api:\n      server:\n        http_listen_port: 3500\n      labels:\n        bad-name: x\n", "'bad-name' is not a valid label name")]
    [InlineData("    loki_push_api:\n      server:\n        http_listen_port: 3500\n    static_configs:\n      - labels:\n          __path__: /x\n", "not both")]
    public void Parse_BadConfig_SaysWhatIsWrong(string job, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => AgentConfig.Parse("scrape_configs:\n  - job_name: push\n" + job, "agent.yaml"));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public async Task Push_ThroughTheAgent_IsRelabeledLabeledAndForwarded()
    {
        await using var loki = await RecordingLoki.StartAsync();
        await using var agent = await Agent.StartAsync(loki.PushUrl, useIncomingTimestamp: true);

        using var response = await agent.PushAsync(TestSupport.PushBodies.Protobuf(("{app=\"shop\", drop_me=\"x\"}", 1_700_000_000_000_000_000, "paid")));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);

        var entry = Assert.Single(await loki.Sink.WaitForCountAsync(1, s_timeout));
        Assert.Equal("paid", entry.Line);
        Assert.Equal(1_700_000_000_000_000_000, entry.Timestamp);
        Assert.Equal("{app=\"shop\", pushserver=\"agent-1\"}", entry.Labels.ToString());
    }

    [Fact]
    public async Task RealClient_Winston_PushesThroughTheAgentToLoki()
    {
        var folder = TestSupport.NodeLokiClients.Find(out var missing);
        if (folder is null)
        {
            output.WriteLine($"SKIPPED: {missing}");
            return;
        }

        await using var loki = await RecordingLoki.StartAsync();
        await using var agent = await Agent.StartAsync(loki.PushUrl, useIncomingTimestamp: false);
        var run = Guid.NewGuid().ToString("N")[..8];
        using var process = Process.Start(new ProcessStartInfo("node", ["push-winston.js", agent.BaseAddress.ToString().TrimEnd('/'), run])
        {
            WorkingDirectory = folder,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        using var timeout = new CancellationTokenSource(s_timeout);
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"push-winston.js failed: {await process.StandardError.ReadToEndAsync()}");

        var entries = await loki.Sink.WaitForCountAsync(3, s_timeout);
        var lines = entries.Select(e => e.Line).Order(StringComparer.Ordinal).ToList();
        for (var i = 0; i < 3; i++)
        {
            Assert.StartsWith($"winston line {i}", lines[i]);
        }

        Assert.All(entries, e =>
        {
            Assert.Equal("winston", e.Labels["client"]);
            Assert.Equal(run, e.Labels["run"]);
            Assert.Equal("agent-1", e.Labels["pushserver"]);
        });
    }

    /// <summary>A Loki push endpoint on 127.0.0.1 that records what it receives (our receiver into a collecting sink).</summary>
    private sealed class RecordingLoki : IAsyncDisposable
    {
        private readonly LogPipeline _pipeline;

        private RecordingLoki(LogPipeline pipeline, CollectingSink sink, Uri address)
        {
            _pipeline = pipeline;
            Sink = sink;
            PushUrl = new Uri(address, "loki/api/v1/push");
        }

        public CollectingSink Sink { get; }

        public Uri PushUrl { get; }

        public static async Task<RecordingLoki> StartAsync()
        {
            var receiver = new LokiPushReceiver(new LokiPushReceiverOptions { ListenAddress = "127.0.0.1:0" });
            var sink = new CollectingSink();
            var pipeline = LogPipeline.Create(new PipelineOptions { Name = "loki" }).From(receiver).To(sink).Build();
            await pipeline.StartAsync();
            return new RecordingLoki(pipeline, sink, (await receiver.Started.WaitAsync(s_timeout))!);
        }

        public async ValueTask DisposeAsync() => await _pipeline.DisposeAsync();
    }

    /// <summary>The agent built from a Promtail config with one loki_push_api job on 127.0.0.1 and one client.</summary>
    private sealed class Agent : IAsyncDisposable
    {
        private readonly LogPipeline _pipeline;
        private readonly HttpClient _client;

        private Agent(LogPipeline pipeline, Uri address)
        {
            _pipeline = pipeline;
            BaseAddress = address;
            _client = new HttpClient { BaseAddress = address, Timeout = s_timeout };
        }

        public Uri BaseAddress { get; }

        public static async Task<Agent> StartAsync(Uri lokiUrl, bool useIncomingTimestamp)
        {
            var config = AgentConfig.Parse($$"""
                clients:
                  - url: {{lokiUrl}}
                    batchwait: 100ms
                scrape_configs:
                  - job_name: push
                    loki_push_api:
                      server:
                        http_listen_address: 127.0.0.1
                        http_listen_port: 0
                      labels:
                        pushserver: agent-1
                      use_incoming_timestamp: {{(useIncomingTimestamp ? "true" : "false")}}
                    relabel_configs:
                      - action: labeldrop
                        regex: drop_me
                """);
            var factory = new AgentPipelineFactory(config);
            var pipeline = factory.Build(new PipelineOptions { Name = "agent" }, ClientSinks.Create);
            await pipeline.StartAsync();
            var address = await factory.PushReceivers["push"].Started.WaitAsync(s_timeout);
            return new Agent(pipeline, address!);
        }

        public Task<HttpResponseMessage> PushAsync(byte[] body)
        {
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            return _client.PostAsync("loki/api/v1/push", content);
        }

        public async ValueTask DisposeAsync()
        {
            _client.Dispose();
            await _pipeline.DisposeAsync();
        }
    }
}
