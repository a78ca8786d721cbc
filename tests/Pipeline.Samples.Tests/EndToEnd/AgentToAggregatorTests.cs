using Pipeline.Samples.Demo;

namespace Pipeline.Samples.Tests.EndToEnd;

/// <summary>The whole stack on 127.0.0.1 with real files: agent -> aggregator, read back over the query API.</summary>
public sealed class AgentToAggregatorTests
{
    private static void AssertEveryLineOnce(IEnumerable<string> lines, int total)
    {
        var numbers = lines.Select(l => int.Parse(l.AsSpan("line ".Length), System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(1, total), numbers.Order());
    }

    [Fact]
    public async Task EveryLineArrivesWithItsLabels_ThroughARotation()
    {
        await using var stack = new Stack();
        await stack.StartAggregatorAsync();
        await stack.StartAgentAsync();

        stack.WriteLines(1, 500);
        await stack.WaitForLinesAsync(100);
        stack.WriteLines(501, 1000);
        stack.Rotate();
        stack.WriteLines(1001, 1500);
        var lines = await stack.WaitForLinesAsync(1500);

        AssertEveryLineOnce(lines.Select(l => l.Line), 1500);
        var labels = lines[0].Labels;
        Assert.Equal("shop", labels["namespace"]);
        Assert.Equal("checkout-1", labels["pod"]);
        Assert.Equal("api", labels["container"]);
        Assert.Equal("pods", labels["job"]);
    }

    [Fact]
    public async Task AgentRestartedMidRun_NothingIsLost()
    {
        await using var stack = new Stack();
        await stack.StartAggregatorAsync();
        await stack.StartAgentAsync();
        stack.WriteLines(1, 1000);
        await stack.WaitForLinesAsync(1);

        await stack.StopAgentAsync();
        stack.WriteLines(1001, 2000);
        await stack.StartAgentAsync();
        var lines = await stack.WaitForLinesAsync(2000);

        // The aggregator stores an identical (timestamp, line) once, so re-sent lines do not show twice.
        AssertEveryLineOnce(lines.Select(l => l.Line), 2000);
    }

    [Fact]
    public async Task AggregatorRestartedMidRun_AgentRetries_NothingIsLost()
    {
        await using var stack = new Stack();
        await stack.StartAggregatorAsync();
        await stack.StartAgentAsync();
        stack.WriteLines(1, 500);
        await stack.WaitForLinesAsync(500);

        await stack.StopAggregatorAsync();
        stack.WriteLines(501, 1000);
        await stack.StartAggregatorAsync();
        var lines = await stack.WaitForLinesAsync(1000);

        AssertEveryLineOnce(lines.Select(l => l.Line), 1000);
    }

    [Fact]
    public async Task Demo_StartsAndServesQueriesWithin30Seconds()
    {
        var data = Directory.CreateTempSubdirectory("pipeline-demo-test-").FullName;
        using var stop = new CancellationTokenSource();
        var started = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new StringWriter();
        var demo = Task.Run(() => DemoApp.RunAsync(["--listen", "127.0.0.1:0", "--data", data, "--lines-per-second", "200"], output, started.SetResult, stop.Token));
        try
        {
            var baseUrl = await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var stack = new Stack();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            List<(string Line, Dictionary<string, string> Labels)> lines;
            do
            {
                lines = await stack.QueryAsync(baseUrl.ToString());
                await Task.Delay(100);
            }
            while (lines.Count == 0 && DateTime.UtcNow < deadline);
            await stack.DisposeAsync();

            Assert.NotEmpty(lines);
            Assert.Contains(lines, l => l.Labels.GetValueOrDefault("namespace") == "shop");
            Assert.Contains("curl -G -s", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await demo.WaitAsync(TimeSpan.FromSeconds(60)));
            Directory.Delete(data, recursive: true);
        }
    }
}
