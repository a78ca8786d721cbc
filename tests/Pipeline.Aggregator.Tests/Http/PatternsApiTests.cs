using System.Net;
using static Pipeline.Aggregator.Tests.TestData;

namespace Pipeline.Aggregator.Tests.Http;

public sealed class PatternsApiTests
{
    private const long Second = 1_000_000_000;

    [Fact]
    public async Task Patterns_DrilldownRequest_LokiShapeMostFrequentFirstWithSamplesPerStep()
    {
        await using var harness = await ServerHarness.StartAsync();
        var t0 = StartNs - (120 * Second);
        await harness.PushOkAsync(
            "{service_name=\"api\", detected_level=\"info\"}",
            (t0, "GET /users/1 took 12ms status 200"),
            (t0 + Second, "GET /users/2 took 7ms status 200"),
            (t0 + (70 * Second), "GET /users/3 took 9ms status 200"));
        await harness.PushOkAsync(
            "{service_name=\"api\", detected_level=\"error\"}",
            (t0 + (5 * Second), "database connection refused after 3 retries"));

        // Drilldown's Patterns tab: GET /loki/api/v1/patterns?query={service_name="api"}&start=&end=&step=
        var start = t0;
        var json = await harness.GetJsonAsync($"loki/api/v1/patterns?query={Uri.EscapeDataString("{service_name=\"api\"}")}&start={start}&end={StartNs}&step=60s");
        var s = start / Second;
        Assert.Equal(
            "{\"status\":\"success\",\"data\":["
            + $"{{\"pattern\":\"GET <_> took <_> status 200\",\"level\":\"info\",\"samples\":[[{s},2],[{s + 60},1]]}},"
            + $"{{\"pattern\":\"database connection refused after 3 retries\",\"level\":\"error\",\"samples\":[[{s},1]]}}]}}",
            ServerHarness.WithoutStats(json));
    }

    [Fact]
    public async Task Patterns_SameTemplateInTwoStreams_MergedAndLevelUnknownWithoutLabel()
    {
        await using var harness = await ServerHarness.StartAsync();
        var t = StartNs - (10 * Second);
        await harness.PushOkAsync("{app=\"a\"}", (t, "cache miss for key 17 in region eu"));
        await harness.PushOkAsync("{app=\"b\"}", (t, "cache miss for key 99 in region eu"), (t + 1, "cache miss for key 98 in region eu"));
        var json = await harness.GetJsonAsync($"loki/api/v1/patterns?query={Uri.EscapeDataString("{app=~\"a|b\"}")}&start={t}&end={StartNs}&step=1m");
        var data = Assert.Single(json.GetProperty("data").EnumerateArray());
        Assert.Equal("cache miss for key <_> in region eu", data.GetProperty("pattern").GetString());
        Assert.Equal("unknown", data.GetProperty("level").GetString());
        Assert.Equal(3, data.GetProperty("samples")[0][1].GetInt64());
    }

    [Fact]
    public async Task Patterns_StreamWithoutLevelLabel_LevelFromDetectedLevelMetadata()
    {
        await using var harness = await ServerHarness.StartAsync();
        var t = StartNs - (10 * Second);

        // detected_level is added at ingest from the level word (Loki's discover_log_levels default).
        await harness.PushOkAsync("{app=\"a\"}", (t, "ERROR cache miss for key 17 in region eu"), (t + 1, "ERROR cache miss for key 18 in region eu"), (t + 2, "INFO served key 18 in region eu"));
        var json = await harness.GetJsonAsync($"loki/api/v1/patterns?query={Uri.EscapeDataString("{app=\"a\"}")}&start={t}&end={StartNs}&step=1m");
        var levels = json.GetProperty("data").EnumerateArray().ToDictionary(p => p.GetProperty("pattern").GetString()!, p => p.GetProperty("level").GetString());
        Assert.Equal("error", levels["ERROR cache miss for key <_> in region eu"]);
        Assert.Equal("info", Assert.Single(levels, p => p.Key.StartsWith("INFO", StringComparison.Ordinal)).Value);
    }

    [Fact]
    public async Task Patterns_EmptyAndBadRequests()
    {
        await using var harness = await ServerHarness.StartAsync();
        var empty = await harness.GetJsonAsync($"loki/api/v1/patterns?query={Uri.EscapeDataString("{app=\"none\"}")}");
        Assert.Equal("{\"status\":\"success\",\"data\":[]}", ServerHarness.WithoutStats(empty));

        var (status, body) = await harness.GetAsync("loki/api/v1/patterns");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("query", body, StringComparison.Ordinal);

        (status, body) = await harness.GetAsync($"loki/api/v1/patterns?query={Uri.EscapeDataString("{app=\"x\"}")}&start={StartNs - (3600 * Second)}&end={StartNs}&step=100ms");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("11,000", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Patterns_MultiTenant_ReadsEachTenant()
    {
        await using var harness = await ServerHarness.StartAsync(o => o.MultiTenant = true);
        var t = StartNs - Second;
        using (var a = await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"x\"}", (t, "worker 1 finished batch quickly")), "a"))
        {
            Assert.Equal(HttpStatusCode.NoContent, a.StatusCode);
        }

        using (var b = await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"x\"}", (t, "worker 2 finished batch quickly")), "b"))
        {
            Assert.Equal(HttpStatusCode.NoContent, b.StatusCode);
        }

        var json = await harness.GetJsonAsync($"loki/api/v1/patterns?query={Uri.EscapeDataString("{app=\"x\"}")}&start={t}&end={StartNs}&step=1m", "a|b");
        var data = Assert.Single(json.GetProperty("data").EnumerateArray());
        Assert.Equal("worker <_> finished batch quickly", data.GetProperty("pattern").GetString());
        Assert.Equal(2, data.GetProperty("samples")[0][1].GetInt64());
    }
}
