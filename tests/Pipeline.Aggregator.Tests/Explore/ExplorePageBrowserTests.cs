using System.Diagnostics;
using System.Text;
using Pipeline.Aggregator.Tests.Http;
using Xunit.Abstractions;

namespace Pipeline.Aggregator.Tests.Explore;

/// <summary>
/// The explore page in a real browser: Debian's Chromium driven by playwright-core (tests/Browser.Tests/explore-e2e.js)
/// against a running aggregator with pushed test data. Screenshots of each state go to artifacts/test-results/explore/.
/// Outside CI, without Chromium or node_modules (run <c>npm ci</c> in tests/Browser.Tests), it passes after saying so.
/// </summary>
public sealed class ExplorePageBrowserTests(ITestOutputHelper output)
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private const long Second = 1_000_000_000;

    [Fact]
    public async Task ExplorePage_InChromium_QueriesChartsAndTails()
    {
        var root = FindRepositoryRoot();
        var folder = Path.Combine(root, "tests", "Browser.Tests");
        var missing = new List<string>();
        if (!File.Exists(ChromiumPath))
        {
            missing.Add($"Chromium at {ChromiumPath} (apt-get install -y chromium)");
        }

        if (!Directory.Exists(Path.Combine(folder, "node_modules", "playwright-core")))
        {
            missing.Add("node_modules with playwright-core (run `npm ci` in tests/Browser.Tests)");
        }

        var hasNode = HasNode();
        if (!hasNode)
        {
            missing.Add("node on PATH");
        }

        if (missing.Count > 0)
        {
            var message = "Browser test NOT RUN: missing " + string.Join("; ", missing) + ". .ci/run installs them.";
            output.WriteLine(message);
            // In CI, .ci/run installs Chromium and node_modules, so their absence is a failure there (unless node itself is absent).
            Assert.False(IsCi && hasNode, message);
            return;
        }

        using var dir = new TempDir();
        await using var harness = await ServerHarness.StartAsync(dir: dir, clock: null, systemClock: true);
        await SeedAsync(harness);

        var screenshots = Path.Combine(root, "artifacts", "test-results", "explore");
        var (exitCode, stdout, stderr) = await RunNodeAsync(folder, harness.Server.BaseAddress.ToString(), screenshots);
        output.WriteLine(stdout);
        output.WriteLine(stderr);
        Assert.True(exitCode == 0, $"explore-e2e.js failed ({exitCode}):\n{stdout}\n{stderr}");
        Assert.Contains("ok: all steps passed", stdout);
        Assert.True(File.Exists(Path.Combine(screenshots, "07-live-tail.png")), "no live tail screenshot");
    }

    private static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Levels as stream labels over the last 50 minutes, a stream without a level label, and 10,000 bulk lines.</summary>
    private static async Task SeedAsync(ServerHarness harness)
    {
        var now = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        await harness.PushOkAsync("{app=\"api\", level=\"info\"}", Lines(now, 120, 25 * Second, i => $"level=info msg=\"request served\" path=/orders/{i} status=200 took={i % 40}ms"));
        await harness.PushOkAsync("{app=\"api\", level=\"error\"}", Lines(now, 20, 150 * Second, i => $"level=error msg=\"upstream failed\" path=/orders/{i} err=\"connection refused\""));
        await harness.PushOkAsync("{app=\"api\", level=\"warn\"}", Lines(now, 15, 190 * Second, i => $"level=warn msg=\"slow request\" took={900 + i}ms"));
        await harness.PushOkAsync("{app=\"web\", level=\"debug\"}", Lines(now, 80, 35 * Second, i => $"{{\"level\":\"debug\",\"msg\":\"render\",\"page\":\"/p/{i}\"}}"));
        await harness.PushOkAsync("{app=\"worker\"}", Lines(now, 30, 90 * Second, i => $"job {i} finished in {i * 3} ms"));
        await harness.PushOkAsync("{app=\"bulk\", level=\"info\"}", Lines(now, 10_000, 200_000_000, i => $"bulk line {i} lorem ipsum dolor sit amet, consectetur adipiscing elit"));
    }

    /// <summary>count lines ending 10 s before now, spaced by interval ns, oldest first.</summary>
    private static (long Ts, string Line)[] Lines(long now, int count, long interval, Func<int, string> line)
    {
        var result = new (long, string)[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = (now - (10 * Second) - ((count - 1 - i) * interval), line(i));
        }

        return result;
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunNodeAsync(string folder, string baseUrl, string screenshots)
    {
        using var process = Process.Start(new ProcessStartInfo("node", ["explore-e2e.js", baseUrl, screenshots])
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (-1, await stdout, "timed out after 3 minutes\n" + await stderr);
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Pipeline.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Pipeline.sln not found above " + AppContext.BaseDirectory);
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
