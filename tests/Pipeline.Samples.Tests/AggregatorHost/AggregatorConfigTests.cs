using Aggregator;
using Pipeline.Aggregator.Distributor;
using Pipeline.Aggregator.Http;
using Pipeline.Aggregator.LogQL;

namespace Pipeline.Samples.Tests.AggregatorHost;

/// <summary>The aggregator host's YAML: the query section's Loki names reach the engine and the scheduler; a wrong key is named.</summary>
public sealed class AggregatorConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aggregator-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void QuerySection_SetsEngineLimitsAndScheduler()
    {
        var path = Write("""
            query:
              max_query_series: 50
              max_entries_limit_per_query: 100
              max_query_length: 24h
              query_timeout: 30s
              max_concurrent: 3
              max_outstanding_requests_per_tenant: 7
            """);
        var options = new AggregatorServerOptions();

        AggregatorConfig.Load(path, options);

        Assert.Equal(50, options.Query.MaxSeries);
        Assert.Equal(100, options.Query.MaxEntriesLimit);
        Assert.Equal(TimeSpan.FromHours(24), options.Query.MaxQueryLength);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Query.Timeout);
        Assert.Equal(LogQLEngineOptions.DefaultMaxPoints, options.Query.MaxPoints);
        Assert.Equal(3, options.MaxConcurrentQueriesPerTenant);
        Assert.Equal(7, options.MaxQueuedQueriesPerTenant);
    }

    [Fact]
    public void NoQuerySection_KeepsLokiDefaults()
    {
        var path = Write("listen: 127.0.0.1:3100\n");
        var options = new AggregatorServerOptions();

        AggregatorConfig.Load(path, options);

        Assert.Equal(LogQLEngineOptions.DefaultMaxSeries, options.Query.MaxSeries);
        Assert.Equal(LogQLEngineOptions.DefaultMaxQueryLength, options.Query.MaxQueryLength);
        Assert.Equal(AggregatorServerOptions.DefaultMaxQueuedQueriesPerTenant, options.MaxQueuedQueriesPerTenant);
    }

    [Fact]
    public void Discovery_OnByDefault_TurnedOffWithLokiNames()
    {
        var defaults = new AggregatorServerOptions();
        AggregatorConfig.Load(Write("limits:\n  max_line_size: 100\n"), defaults);
        Assert.True(defaults.Limits.DiscoverLogLevels);
        Assert.Equal(DistributorLimits.DefaultDiscoverServiceName, defaults.Limits.DiscoverServiceName);

        var off = new AggregatorServerOptions();
        AggregatorConfig.Load(Write("""
            limits:
              discover_service_name: []
              discover_log_levels: false
            overrides:
              team-a:
                discover_service_name: [app, job]
            """), off);
        Assert.Empty(off.Limits.DiscoverServiceName);
        Assert.False(off.Limits.DiscoverLogLevels);
        Assert.Equal(["app", "job"], off.TenantLimits["team-a"].DiscoverServiceName);
    }

    [Theory]
    [InlineData("query:\n  max_concurent: 3\n", "max_concurent")]
    [InlineData("query:\n  query_timeout: 0s\n", "query_timeout")]
    [InlineData("query:\n  max_query_series: lots\n", "max_query_series")]
    public void BadQueryValue_IsAnErrorNamingTheKey(string yaml, string key)
    {
        var path = Write(yaml);

        var error = Assert.Throws<ArgumentException>(() => AggregatorConfig.Load(path, new AggregatorServerOptions()));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    private string Write(string yaml)
    {
        var path = Path.Combine(_dir, "aggregator.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }
}
