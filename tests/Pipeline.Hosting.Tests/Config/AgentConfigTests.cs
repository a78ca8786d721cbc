using Pipeline.Hosting.Config;

namespace Pipeline.Hosting.Tests.Config;

public sealed class AgentConfigTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Config", "Fixtures", name);

    [Fact]
    public void Load_PromtailKubeletConfig_ReadsEverySection()
    {
        var config = AgentConfig.Load(Fixture("promtail-kubelet.yaml"));

        Assert.Equal(3101, config.Server.ListenPort);
        var client = Assert.Single(config.Clients);
        Assert.Equal("http://loki-gateway.monitoring.svc/loki/api/v1/push", client.Url.ToString());
        Assert.Equal("dev", client.TenantId);
        Assert.Equal(TimeSpan.FromSeconds(1), client.BatchWait);
        Assert.Equal(1048576, client.BatchSize);
        Assert.Equal(TimeSpan.FromMinutes(5), client.Backoff.MaxPeriod);
        Assert.Equal([new KeyValuePair<string, string>("cluster", "prod-eu-1")], client.ExternalLabels);
        Assert.Equal("/run/promtail/positions.yaml", config.Positions.Filename);
        Assert.Equal(256 * 1024, config.Limits.MaxLineSize);
        Assert.True(config.Limits.MaxLineSizeTruncate);
        var scrape = Assert.Single(config.ScrapeConfigs);
        Assert.Equal("kubernetes-pods", scrape.JobName);
        Assert.Equal(4, scrape.PipelineStages.Count);
        var files = Assert.Single(scrape.StaticConfigs);
        Assert.Equal("/var/log/pods/*/*/*.log", files.PathGlob);
        Assert.Equal("/var/log/pods/kube-system_*/*/*.log", files.PathExcludeGlob);
    }

    [Fact]
    public void Parse_Empty_GivesDefaults()
    {
        var config = AgentConfig.Parse("");

        Assert.Equal(ServerConfig.DefaultPort, config.Server.ListenPort);
        Assert.Empty(config.Clients);
        Assert.Equal(TimeSpan.FromSeconds(10), config.Positions.SyncPeriod);
    }

    [Theory]
    [InlineData("serverr:\n  http_listen_port: 1\n", "agent.yaml:1:1: serverr: unknown key 'serverr'; accepted keys here: server, positions")]
    [InlineData("clients:\n  - url: http://loki/push\n    batchwait: soon\n", "agent.yaml:3:16: clients[0].batchwait: 'soon' is not a duration")]
    [InlineData("clients:\n  - url: loki:3100\n", "clients[0].url: 'loki:3100' is not an http or https URL")]
    [InlineData("clients:\n  - tenant_id: a\n", "clients[0].url: is required")]
    [InlineData("server:\n  http_listen_port: 70000\n", "server.http_listen_port: 70000 is out of range; accepted: 0 to 65535")]
    [InlineData("server:\n  http_listen_port: eighty\n", "server.http_listen_port: 'eighty' is not an integer")]
    [InlineData("server:\n  log_level: loud\n", "server.log_level: 'loud' is not a log level; accepted: debug, info, warn, error")]
    [InlineData("positions:\n  sync_period: 0s\n", "positions.sync_period: '0s' must be positive")]
    [InlineData("clients:\n  - url: http://l/p\n    backoff_config:\n      min_period: 10s\n      max_period: 1s\n", "clients[0].backoff_config.max_period: max_period (00:00:01) must not be shorter than min_period (00:00:10)")]
    [InlineData("clients:\n  - url: http://l/p\n    external_labels:\n      bad-name: x\n", "clients[0].external_labels.bad-name: 'bad-name' is not a valid label name")]
    [InlineData("scrape_configs:\n  - job_name: a\n    static_configs:\n      - labels:\n          job: a\n", "scrape_configs[0].static_configs[0].labels: __path__ is required")]
    [InlineData("scrape_configs:\n  - job_name: a\n  - job_name: a\n", "job_name 'a' is used by more than one scrape config")]
    [InlineData("scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs:\n      - role: pod\n", "scrape_configs[0].kubernetes_sd_configs: not supported yet: kubernetes_sd_configs (read the kubelet's files instead")]
    [InlineData("scrape_configs:\n  - job_name: a\n    pipeline_stages:\n      - cri: {}\n        docker: {}\n", "scrape_configs[0].pipeline_stages[0]: each pipeline stage is a mapping with exactly one key")]
    [InlineData("server: [1, 2]\n", "server: expected a mapping of keys to values, found a list")]
    [InlineData("clients:\n  url: http://l/p\n", "clients: expected a list, found a mapping")]
    [InlineData("server:\n  http_listen_port: [1\n", "agent.yaml:")]
    public void Parse_InvalidConfig_NamesPathLineColumnAndWhatIsAccepted(string yaml, string expected)
    {
        var error = Assert.Throws<ConfigException>(() => AgentConfig.Parse(yaml, "agent.yaml"));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.True(error.Line > 0, error.Message);
    }

    [Fact]
    public void Parse_InvalidYaml_ReportsLineAndColumn()
    {
        var error = Assert.Throws<ConfigException>(() => AgentConfig.Parse("server:\n  http_listen_port: [1\n", "agent.yaml"));

        Assert.Contains("not valid YAML", error.Message, StringComparison.Ordinal);
        Assert.Equal("agent.yaml", error.File);
    }

    [Fact]
    public void Load_MissingFile_SaysSo()
    {
        var error = Assert.Throws<ConfigException>(() => AgentConfig.Load("/nonexistent/agent.yaml"));

        Assert.Contains("cannot read the configuration file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ExpandEnv_SubstitutesVariablesAndDefaults()
    {
        const string Yaml = "clients:\n  - url: ${PIPELINE_TEST_LOKI_URL:-http://fallback/push}\n    tenant_id: ${PIPELINE_TEST_TENANT}\n";
        Environment.SetEnvironmentVariable("PIPELINE_TEST_TENANT", "team-a");

        var config = AgentConfig.Parse(Yaml, expandEnv: true);

        Assert.Equal("http://fallback/push", config.Clients[0].Url.ToString());
        Assert.Equal("team-a", config.Clients[0].TenantId);
    }

    [Theory]
    [InlineData("${A}", "a")]
    [InlineData("${MISSING}", "")]
    [InlineData("${MISSING:-dflt}", "dflt")]
    [InlineData("${MISSING:dflt}", "dflt")]
    [InlineData("${A:-dflt}", "a")]
    [InlineData("$$A and $A", "$A and $A")]
    [InlineData("${unterminated", "${unterminated")]
    public void EnvExpander_Forms(string text, string expected)
    {
        Assert.Equal(expected, EnvExpander.Expand(text, name => name == "A" ? "a" : null));
    }
}
