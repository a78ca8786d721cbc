using System.Text;
using Pipeline.Aggregator.Patterns;

namespace Pipeline.Aggregator.Tests.Patterns;

public sealed class DrainTests
{
    private static DrainCluster? Train(Drain drain, string line)
    {
        var cluster = drain.Train(Encoding.UTF8.GetBytes(line));
        cluster?.Add(0);
        return cluster;
    }

    [Fact]
    public void Train_LinesDifferingInVariables_OneClusterWithPlaceholders()
    {
        using var drain = new Drain();
        Train(drain, "user 1234 logged in from 10.0.0.1");
        Train(drain, "user 5678 logged in from 10.0.0.2");
        var cluster = Train(drain, "user 42 logged in from 192.168.1.7");

        var only = Assert.Single(drain.Clusters);
        Assert.Same(only, cluster);
        Assert.Equal(3, only.Count);
        Assert.Equal("user <_> logged in from <_>", only.Pattern());
    }

    [Fact]
    public void Train_DifferentMessages_SeparateClusters()
    {
        using var drain = new Drain();
        Train(drain, "GET /api/users returned 200 in 12ms");
        Train(drain, "GET /api/users returned 200 in 15ms");
        Train(drain, "connection to database lost, retrying now");
        Train(drain, "connection to database lost, retrying later");

        var patterns = drain.Clusters.Select(c => (c.Pattern(), c.Count)).OrderBy(p => p.Item1, StringComparer.Ordinal).ToArray();
        Assert.Equal([("GET /api/users returned 200 in <_>", 2L), ("connection to database lost, retrying <_>", 2L)], patterns);
    }

    [Fact]
    public void Train_Logfmt_EqualsAndQuotesAreTokensAndSpacingIsKept()
    {
        using var drain = new Drain();
        Train(drain, "level=info msg=\"request done\" status=200 duration=12ms");
        Train(drain, "level=info msg=\"request done\" status=404 duration=3ms");
        Assert.Equal("level=info msg=\"request done\" status=<_> duration=<_>", Assert.Single(drain.Clusters).Pattern());
    }

    [Fact]
    public void Pattern_AdjacentPlaceholders_CollapseToOne()
    {
        // A shallow tree, so that the lines meet at one leaf after their first token.
        using var drain = new Drain(new DrainOptions { Depth = 4 });
        Train(drain, "took a,b seconds to finish job");
        Train(drain, "took c;d seconds to finish job");

        // "a" "," "b" all vary between the lines: <_><_><_> without spaces between is one placeholder.
        Assert.Equal("took <_> seconds to finish job", Assert.Single(drain.Clusters).Pattern());
    }

    [Theory]
    [InlineData("")]
    [InlineData("too short")]
    [InlineData("a b c")]
    public void Train_TooFewTokens_Skipped(string line)
    {
        using var drain = new Drain();
        Assert.Null(Train(drain, line));
        Assert.Equal(1, drain.Skipped);
        Assert.Empty(drain.Clusters);
    }

    [Fact]
    public void Train_TooLongOrInvalidUtf8_Skipped()
    {
        using var drain = new Drain();
        Assert.Null(Train(drain, new string('x', 3001)));
        Assert.Null(drain.Train([0x61, 0x20, 0xFF, 0xFE, 0x20, 0x62, 0x20, 0x63, 0x20, 0x64]));
        Assert.Equal(2, drain.Skipped);
    }

    [Fact]
    public void Train_MoreClustersThanTheCap_EvictsLeastRecentlyMatched()
    {
        using var drain = new Drain(new DrainOptions { MaxClusters = 2 });
        Train(drain, "alpha started the first job");
        Train(drain, "beta finished the second task");
        Train(drain, "alpha started the first job");
        Train(drain, "gamma crashed during third run");

        Assert.Equal(1, drain.Evictions);
        var patterns = drain.Clusters.Select(c => c.Pattern()).ToArray();
        Assert.Equal(["gamma crashed during third run", "alpha started the first job"], patterns);
    }

    [Fact]
    public void Train_ManyDistinctLeadingTokens_BoundedChildrenStillCluster()
    {
        using var drain = new Drain(new DrainOptions { MaxChildren = 3 });
        for (var i = 0; i < 20; i++)
        {
            Train(drain, $"worker{(char)('a' + i)} picked up message from queue");
        }

        // Past the fan-out cap the leading token goes down the placeholder branch and the lines merge there.
        Assert.True(drain.Clusters.Count() < 20);
        Assert.Contains(drain.Clusters, c => c.Pattern() == "<_> picked up message from queue");
    }

    [Fact]
    public void Add_CountsPerBucket()
    {
        using var drain = new Drain();
        var cluster = drain.Train("job 1 done in 5 seconds"u8)!;
        cluster.Add(20);
        cluster.Add(20);
        cluster.Add(10);
        Assert.Equal([(10L, 1L), (20L, 2L)], cluster.Samples.OrderBy(s => s.Key).Select(s => (s.Key, s.Value)));
        Assert.Equal(3, cluster.Count);
    }
}
