using Pipeline.Hosting.Config;
using Pipeline.Runtime;
using Pipeline.Testing;

namespace Pipeline.Hosting.Tests.Config;

public sealed class AgentPipelineFactoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("agent-factory-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Config(string stages) => $$"""
        positions:
          filename: {{_root}}/positions.yaml
        clients:
          - url: http://127.0.0.1:1/loki/api/v1/push
        scrape_configs:
          - job_name: pods
            pipeline_stages:
        {{stages}}
            static_configs:
              - labels:
                  job: pods
                  __path__: {{_root}}/var/log/pods/*/*/*.log
        """;

    [Fact]
    public async Task KubeletConfig_CriRegexLabelsDrop_RunsEndToEnd()
    {
        var dir = Path.Combine(_root, "var/log/pods/shop_cart-7d9f_0f3e/api");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "0.log"),
            "2026-11-26T10:00:00.123456789Z stdout F level=info msg=\"paid\"\n" +
            "2026-11-26T10:00:01.000000000Z stderr P level=debug msg=\"par\n" +
            "2026-11-26T10:00:01.000000001Z stderr F tial\"\n" +
            "2026-11-26T10:00:02.000000000Z stdout F level=debug msg=\"noise\"\n");
        var config = AgentConfig.Parse(Config("""
                  - cri: {}
                  - logfmt:
                      mapping:
                        level:
                  - labels:
                      level:
                      stream:
                  - drop:
                      source: level
                      value: debug
                      drop_counter_reason: debug_noise
                  - static_labels:
                      cluster: test
            """), "agent.yaml");
        var sink = new CollectingSink();
        var factory = new AgentPipelineFactory(config);

        await using var pipeline = factory.Build(new PipelineOptions(), _ => throw new InvalidOperationException("dry run only"), sink);
        using var metrics = new MetricsCapture(pipeline.Meter);
        await pipeline.StartAsync();
        var entries = await sink.WaitForCountAsync(1);
        await pipeline.StopAsync();

        var entry = Assert.Single(entries);
        Assert.Equal("level=info msg=\"paid\"", entry.Line);
        Assert.Equal(1795687200123456789, entry.Timestamp);
        Assert.Equal("shop", entry.Labels["namespace"]);
        Assert.Equal("cart-7d9f", entry.Labels["pod"]);
        Assert.Equal("api", entry.Labels["container"]);
        Assert.Equal("info", entry.Labels["level"]);
        Assert.Equal("stdout", entry.Labels["stream"]);
        Assert.Equal("test", entry.Labels["cluster"]);
        Assert.Equal(2, metrics.Dropped("pods/drop[3]", "debug_noise"));
    }

    [Theory]
    [InlineData("      - regex:\n          expression: '(?P<x>[a-z'\n", "scrape_configs[0].pipeline_stages[0].regex.expression:")]
    [InlineData("      - json:\n          expresions:\n            a: b\n", "scrape_configs[0].pipeline_stages[0].json.expresions: unknown key 'expresions'; accepted keys here: expressions, source, drop_malformed")]
    [InlineData("      - drop:\n          older_than: yesterday\n", "scrape_configs[0].pipeline_stages[0].drop.older_than: 'yesterday' is not a duration")]
    [InlineData("      - luhn: {}\n", "scrape_configs[0].pipeline_stages[0].luhn: not supported yet: luhn")]
    [InlineData("      - match:\n          selector: '{app=\"a\"}'\n          stages:\n            - multiline:\n                firstline: '^x'\n", "cannot be nested in match")]
    public void InvalidStage_FailsAtBuildWithThePathOfTheValue(string stages, string expected)
    {
        var config = AgentConfig.Parse(Config(stages), "agent.yaml");
        var factory = new AgentPipelineFactory(config);

        var error = Assert.Throws<ConfigException>(() => factory.Build(new PipelineOptions(), _ => new CollectingSink()));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.StartsWith("agent.yaml:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PromtailKubeletFixture_BuildsEveryStage()
    {
        var config = AgentConfig.Load(Path.Combine(AppContext.BaseDirectory, "Config", "Fixtures", "promtail-kubelet.yaml"));

        var pipeline = new AgentPipelineFactory(config).Build(new PipelineOptions(), _ => new CollectingSink());

        Assert.NotNull(pipeline);
    }

    [Fact]
    public void NoClients_WithoutDryRun_SaysWhatIsMissing()
    {
        var config = AgentConfig.Parse($"scrape_configs:\n  - job_name: a\n    static_configs:\n      - labels:\n          __path__: {_root}/*.log\n");

        var error = Assert.Throws<ConfigException>(() => new AgentPipelineFactory(config).Build(new PipelineOptions(), _ => new CollectingSink()));

        Assert.Contains("at least one client is needed", error.Message, StringComparison.Ordinal);
    }
}
