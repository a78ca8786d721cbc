using System.Diagnostics;
using Xunit.Abstractions;

namespace Pipeline.Aggregator.Tests.Http;

/// <summary>
/// Real Loki clients we did not write (tests/Interop.Tests/node-loki-clients): winston-loki pushes protobuf+snappy,
/// pino-loki pushes JSON; the lines are read back through the query API with their labels and timestamps.
/// Without <c>node</c> or <c>node_modules</c> (run <c>npm ci</c> there) the test passes after saying it did not run.
/// </summary>
public sealed class NodeClientsInteropTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("push-winston.js", "winston")]
    [InlineData("push-pino.js", "pino")]
    public async Task RealClient_Pushes_LinesQueryableWithLabelsAndTimestamps(string script, string client)
    {
        var folder = TestSupport.NodeLokiClients.Find(out var missing);
        if (folder is null)
        {
            output.WriteLine($"SKIPPED: {missing}");
            return;
        }

        using var dir = new TempDir();
        await using var harness = await ServerHarness.StartAsync(dir: dir, clock: null, systemClock: true);
        var run = Guid.NewGuid().ToString("N")[..8];
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        using var process = Process.Start(new ProcessStartInfo("node", [script, harness.Server.BaseAddress.ToString().TrimEnd('/'), run])
        {
            WorkingDirectory = folder,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        var stderr = await process.StandardError.ReadToEndAsync();
        Assert.True(process.ExitCode == 0, $"{script} failed: {stderr}");

        var query = Uri.EscapeDataString($"{{client=\"{client}\", run=\"{run}\"}}");
        var json = await harness.GetJsonAsync($"loki/api/v1/query_range?direction=forward&limit=10&query={query}");
        var streams = json.GetProperty("data").GetProperty("result").EnumerateArray().ToList();
        var stream = Assert.Single(streams);
        Assert.Equal(client, stream.GetProperty("stream").GetProperty("client").GetString());
        Assert.Equal(run, stream.GetProperty("stream").GetProperty("run").GetString());
        var values = stream.GetProperty("values").EnumerateArray().ToList();
        Assert.Equal(3, values.Count);
        for (var i = 0; i < 3; i++)
        {
            Assert.Contains($"{client} line {i}", values[i][1].GetString());
            var ts = DateTimeOffset.UnixEpoch.AddTicks(long.Parse(values[i][0].GetString()!) / 100);
            Assert.InRange(ts, before, DateTimeOffset.UtcNow.AddSeconds(5));
        }
    }
}
