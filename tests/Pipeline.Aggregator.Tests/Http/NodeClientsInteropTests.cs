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
        var folder = FindClientsFolder();
        if (folder is null || !Directory.Exists(Path.Combine(folder, "node_modules")) || !HasNode())
        {
            output.WriteLine($"SKIPPED: needs node on PATH and `npm ci` in tests/Interop.Tests/node-loki-clients (found folder: {folder ?? "none"})");
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

    private static string? FindClientsFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Interop.Tests", "node-loki-clients");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool HasNode()
    {
        try
        {
            using var node = Process.Start(new ProcessStartInfo("node", ["--version"]) { RedirectStandardOutput = true, RedirectStandardError = true });
            node?.WaitForExit(10_000);
            return node is { ExitCode: 0 };
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }
}
