using Pipeline.Hosting.Config;

namespace Pipeline.Hosting.Tests.Config;

public sealed class ClientSinksTests
{
    [Theory]
    [InlineData("", null)]
    [InlineData("    backoff_config:\n      min_period: 1s\n", null)]
    [InlineData("    backoff_config:\n      max_retries: 0\n", null)]
    [InlineData("    backoff_config:\n      max_retries: 3\n", 3)]
    public void Backoff_RetriesForeverUnlessMaxRetriesGiven(string backoff, int? expected)
    {
        var config = AgentConfig.Parse($"clients:\n  - url: http://loki:3100/loki/api/v1/push\n{backoff}");

        var options = ClientSinks.ToOptions(Assert.Single(config.Clients));

        Assert.Equal(expected, options.MaxRetries);
    }

    [Fact]
    public void Backoff_Defaults_NoticeARecoveryWithinSeconds()
    {
        var config = AgentConfig.Parse("clients:\n  - url: http://loki:3100/loki/api/v1/push\n");

        var options = ClientSinks.ToOptions(Assert.Single(config.Clients));

        Assert.Equal(TimeSpan.FromMilliseconds(500), options.MinBackoff);
        Assert.Equal(TimeSpan.FromSeconds(5), options.MaxBackoff);
    }

    [Fact]
    public void Backoff_ExplicitMaxPeriod_MeansWhatItSays()
    {
        var config = AgentConfig.Parse("clients:\n  - url: http://loki:3100/loki/api/v1/push\n    backoff_config:\n      max_period: 5m\n");

        Assert.Equal(TimeSpan.FromMinutes(5), ClientSinks.ToOptions(Assert.Single(config.Clients)).MaxBackoff);
    }
}
