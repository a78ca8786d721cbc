using System.Net;
using static Pipeline.Aggregator.Tests.TestData;

namespace Pipeline.Aggregator.Tests.Http;

public sealed class IndexStatsApiTests
{
    // The figures below are of the lines as pushed: no detected_level metadata or service_name label added at ingest.
    private static void WithoutDiscovery(Pipeline.Aggregator.Http.AggregatorServerOptions options)
    {
        options.Limits.DiscoverServiceName = [];
        options.Limits.DiscoverLogLevels = false;
    }

    private const long Second = 1_000_000_000;

    /// <summary>An entry's uncompressed size as stored: 8 (timestamp) + 1 (length, lines under 128 bytes) + line + 1 (no metadata).</summary>
    private static long Size(string line) => line.Length + 10;

    private static string Q(string selector) => Uri.EscapeDataString(selector);

    [Fact]
    public async Task Stats_FlushedChunks_AnsweredFromTheIndexWithoutReadingChunkFiles()
    {
        await using var harness = await ServerHarness.StartAsync(WithoutDiscovery);
        var t = StartNs - (100 * Second);
        await harness.PushOkAsync("{app=\"api\", env=\"prod\"}", (t, "one line"), (t + Second, "two line"));
        await harness.PushOkAsync("{app=\"api\", env=\"dev\"}", (t, "three"));
        Assert.True(await harness.Server.Ingester.FlushAsync(all: true) >= 2);
        await harness.PushOkAsync("{app=\"api\", env=\"dev\"}", (t + (2 * Second), "four, in memory"));

        // The statistics come from the index: deleting the chunk files does not change them.
        foreach (var file in Directory.EnumerateFiles(harness.Dir.Path, "*.chunk", SearchOption.AllDirectories))
        {
            File.Delete(file);
        }

        var stats = await harness.GetJsonAsync($"loki/api/v1/index/stats?query={Q("{app=\"api\"}")}&start={t - Second}&end={StartNs}");
        var bytes = Size("one line") + Size("two line") + Size("three") + Size("four, in memory");
        Assert.Equal($"{{\"streams\":2,\"chunks\":3,\"entries\":4,\"bytes\":{bytes}}}", ServerHarness.WithoutStats(stats));

        var prod = await harness.GetJsonAsync($"loki/api/v1/index/stats?query={Q("{env=\"prod\"}")}&start={t - Second}&end={StartNs}");
        Assert.Equal($"{{\"streams\":1,\"chunks\":1,\"entries\":2,\"bytes\":{Size("one line") + Size("two line")}}}", ServerHarness.WithoutStats(prod));

        var none = await harness.GetJsonAsync($"loki/api/v1/index/stats?query={Q("{app=\"other\"}")}");
        Assert.Equal("{\"streams\":0,\"chunks\":0,\"entries\":0,\"bytes\":0}", ServerHarness.WithoutStats(none));
    }

    [Fact]
    public async Task Stats_ChunkPartlyInRange_CountsItsShareLikeLoki()
    {
        await using var harness = await ServerHarness.StartAsync(WithoutDiscovery);
        var t = StartNs - (100 * Second);
        var lines = Enumerable.Range(0, 11).Select(i => (t + (i * 10 * Second), $"line {i:00}")).ToArray();
        await harness.PushOkAsync("{app=\"api\"}", lines);

        // The chunk spans 100 s; [t+50s, t+100s] is half of it.
        var stats = await harness.GetJsonAsync($"loki/api/v1/index/stats?query={Q("{app=\"api\"}")}&start={t + (50 * Second)}&end={t + (100 * Second)}");
        Assert.Equal(5, stats.GetProperty("entries").GetInt64());
        Assert.Equal(11 * Size("line 00") / 2, stats.GetProperty("bytes").GetInt64());
    }

    [Fact]
    public async Task Volume_AggregateByLabelsTargetLabelsAndLimit()
    {
        await using var harness = await ServerHarness.StartAsync(WithoutDiscovery);
        var t = StartNs - (10 * Second);
        await harness.PushOkAsync("{app=\"api\", env=\"prod\"}", (t, "aaaaaaaaaa"));
        await harness.PushOkAsync("{app=\"api\", env=\"dev\"}", (t, "bbbbb"));
        await harness.PushOkAsync("{app=\"web\", env=\"prod\"}", (t, "c"));
        var s = StartNs / Second;

        // logcli volume --aggregate-by labels: one series per label name, the sum of the streams that have it.
        var byLabels = await harness.GetJsonAsync($"loki/api/v1/index/volume?query={Q("{app=~\".+\"}")}&end={StartNs}&aggregateBy=labels");
        var all = Size("aaaaaaaaaa") + Size("bbbbb") + Size("c");
        Assert.Equal(
            $"{{\"status\":\"success\",\"data\":{{\"resultType\":\"vector\",\"result\":[{{\"metric\":{{\"app\":\"\"}},\"value\":[{s},\"{all}\"]}},{{\"metric\":{{\"env\":\"\"}},\"value\":[{s},\"{all}\"]}}]}}}}",
            ServerHarness.WithoutStats(byLabels));

        // targetLabels=env groups by env whatever the selector names; limit keeps the largest.
        var byEnv = await harness.GetJsonAsync($"loki/api/v1/index/volume?query={Q("{app=~\".+\"}")}&end={StartNs}&targetLabels=env&limit=1");
        Assert.Equal(
            $"{{\"status\":\"success\",\"data\":{{\"resultType\":\"vector\",\"result\":[{{\"metric\":{{\"env\":\"prod\"}},\"value\":[{s},\"{Size("aaaaaaaaaa") + Size("c")}\"]}}]}}}}",
            ServerHarness.WithoutStats(byEnv));

        var (status, body) = await harness.GetAsync($"loki/api/v1/index/volume?query={Q("{app=\"api\"}")}&aggregateBy=pods");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("aggregation", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VolumeRange_SamplesAtTheEndOfEachStep()
    {
        await using var harness = await ServerHarness.StartAsync(WithoutDiscovery);
        var start = StartNs - (120 * Second);
        await harness.PushOkAsync("{app=\"api\"}", (start + (10 * Second), "early"));
        await harness.PushOkAsync("{app=\"web\"}", (start + (90 * Second), "late"));
        var range = await harness.GetJsonAsync($"loki/api/v1/index/volume_range?query={Q("{app=~\".+\"}")}&start={start}&end={StartNs}&step=60s");
        var s = start / Second;
        Assert.Equal(
            $"{{\"status\":\"success\",\"data\":{{\"resultType\":\"matrix\",\"result\":[{{\"metric\":{{\"app\":\"api\"}},\"values\":[[{s + 60},\"{Size("early")}\"]]}},{{\"metric\":{{\"app\":\"web\"}},\"values\":[[{s + 120},\"{Size("late")}\"]]}}]}}}}",
            ServerHarness.WithoutStats(range));
    }

    [Fact]
    public async Task StatsAndVolume_MultiTenant_ReadEachTenantWithTenantLabel()
    {
        await using var harness = await ServerHarness.StartAsync(o =>
        {
            WithoutDiscovery(o);
            o.MultiTenant = true;
        });
        var t = StartNs - Second;
        foreach (var (tenant, line) in new[] { ("a", "from a"), ("b", "from tenant b") })
        {
            using var push = await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"x\"}", (t, line)), tenant);
            Assert.Equal(HttpStatusCode.NoContent, push.StatusCode);
        }

        var stats = await harness.GetJsonAsync($"loki/api/v1/index/stats?query={Q("{app=\"x\"}")}", "a|b");
        Assert.Equal(2, stats.GetProperty("streams").GetInt64());
        Assert.Equal(Size("from a") + Size("from tenant b"), stats.GetProperty("bytes").GetInt64());

        var onlyB = await harness.GetJsonAsync($"loki/api/v1/index/stats?query={Q("{app=\"x\", __tenant_id__=\"b\"}")}", "a|b");
        Assert.Equal(Size("from tenant b"), onlyB.GetProperty("bytes").GetInt64());

        var volume = await harness.GetJsonAsync($"loki/api/v1/index/volume?query={Q("{app=\"x\"}")}&end={StartNs}&targetLabels=__tenant_id__", "a|b");
        var names = volume.GetProperty("data").GetProperty("result").EnumerateArray().Select(r => r.GetProperty("metric").GetProperty("__tenant_id__").GetString()!).ToArray();
        Assert.Equal(["b", "a"], names);
    }
}
