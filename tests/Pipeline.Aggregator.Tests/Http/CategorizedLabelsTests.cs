using System.Net;
using System.Text.Json;
using Pipeline.Aggregator.Tests.Http;
using static Pipeline.Aggregator.Tests.TestData;

namespace Pipeline.Aggregator.Tests.Http;

/// <summary>
/// <c>X-Loki-Response-Encoding-Flags: categorize-labels</c> (sent by Grafana's Loki data source): stream labels in
/// <c>stream</c>, structured metadata and parsed labels per value, as Loki's <c>marshal.encodeStream</c> writes them.
/// </summary>
public sealed class CategorizedLabelsTests
{
    private const long Second = 1_000_000_000;
    private static readonly long T1 = StartNs - (20 * Second);
    private static readonly long T2 = StartNs - (10 * Second);

    private static async Task<ServerHarness> SeededAsync()
    {
        var harness = await ServerHarness.StartAsync();
        var body = "{\"streams\":[{\"stream\":{\"app\":\"api\"},\"values\":["
            + $"[\"{T1}\",\"level=info msg=started\",{{\"trace_id\":\"abc\"}}],"
            + $"[\"{T2}\",\"level=error msg=failed\"]]}}]}}";
        using var response = await harness.PushJsonAsync(body);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        return harness;
    }

    private static async Task<JsonElement> QueryAsync(ServerHarness harness, string query, bool categorize, string path = "query_range", string extra = "")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"loki/api/v1/{path}?query={Uri.EscapeDataString(query)}{extra}");
        if (categorize)
        {
            request.Headers.Add("X-Loki-Response-Encoding-Flags", "categorize-labels");
        }

        using var response = await harness.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task Categorized_StreamLabelsOnly_MetadataAndParsedPerValue()
    {
        await using var harness = await SeededAsync();
        var json = await QueryAsync(harness, "{app=\"api\"} | logfmt", categorize: true);
        Assert.Equal(
            "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"encodingFlags\":[\"categorize-labels\"],\"result\":["
            + "{\"stream\":{\"app\":\"api\",\"service_name\":\"api\"},\"values\":["
            + $"[\"{T2}\",\"level=error msg=failed\",{{\"structuredMetadata\":{{\"detected_level\":\"error\"}},\"parsed\":{{\"level\":\"error\",\"msg\":\"failed\"}}}}],"
            + $"[\"{T1}\",\"level=info msg=started\",{{\"structuredMetadata\":{{\"detected_level\":\"info\",\"trace_id\":\"abc\"}},\"parsed\":{{\"level\":\"info\",\"msg\":\"started\"}}}}]]}}]}}}}",
            ServerHarness.WithoutStats(json));
    }

    [Fact]
    public async Task Categorized_WithoutParser_EmptyGroupsLeftOut_ForwardOrderKept()
    {
        await using var harness = await ServerHarness.StartAsync(o => o.Limits.DiscoverLogLevels = false);
        await harness.PushOkAsync("{app=\"api\"}", (T1, "one"), (T2, "two"));
        var json = await QueryAsync(harness, "{app=\"api\"}", categorize: true, extra: "&direction=forward");
        Assert.Equal(
            "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"encodingFlags\":[\"categorize-labels\"],\"result\":["
            + $"{{\"stream\":{{\"app\":\"api\",\"service_name\":\"api\"}},\"values\":[[\"{T1}\",\"one\",{{}}],[\"{T2}\",\"two\",{{}}]]}}]}}}}",
            ServerHarness.WithoutStats(json));
    }

    [Fact]
    public async Task Plain_WithoutHeader_MergesEverythingIntoTheStream()
    {
        await using var harness = await SeededAsync();
        var json = await QueryAsync(harness, "{app=\"api\"} | logfmt", categorize: false);
        var data = json.GetProperty("data");
        Assert.False(data.TryGetProperty("encodingFlags", out _));
        var streams = data.GetProperty("result").EnumerateArray().Select(s => s.GetProperty("stream").ToString()).ToArray();
        Assert.Equal(
            [
                "{\"app\":\"api\",\"detected_level\":\"error\",\"level\":\"error\",\"msg\":\"failed\",\"service_name\":\"api\"}",
                "{\"app\":\"api\",\"detected_level\":\"info\",\"level\":\"info\",\"msg\":\"started\",\"service_name\":\"api\",\"trace_id\":\"abc\"}",
            ],
            streams);
        Assert.All(data.GetProperty("result").EnumerateArray(), s => Assert.Equal(2, s.GetProperty("values")[0].GetArrayLength()));
    }

    [Fact]
    public async Task Categorized_MetricQuery_CarriesTheFlag_AndInstantLogQueryToo()
    {
        await using var harness = await SeededAsync();
        var matrix = await QueryAsync(harness, "count_over_time({app=\"api\"}[1m])", categorize: true, extra: $"&start={StartNs - (60 * Second)}&end={StartNs}&step=60s");
        Assert.Equal("categorize-labels", matrix.GetProperty("data").GetProperty("encodingFlags")[0].GetString());

        var instant = await QueryAsync(harness, "{app=\"api\"}", categorize: true, path: "query", extra: $"&time={StartNs}");
        var values = instant.GetProperty("data").GetProperty("result")[0].GetProperty("values");
        Assert.Equal(2, values.GetArrayLength());
        Assert.Equal(3, values[0].GetArrayLength());
    }

    [Fact]
    public async Task InstantLogQuery_LooksBackThirtySeconds()
    {
        await using var harness = await ServerHarness.StartAsync();
        await harness.PushOkAsync("{app=\"api\"}", (StartNs - (31 * Second), "too old"), (StartNs - (29 * Second), "recent"));
        var json = await harness.GetJsonAsync($"loki/api/v1/query?query={Uri.EscapeDataString("{app=\"api\"}")}&time={StartNs}");
        var lines = json.GetProperty("data").GetProperty("result").EnumerateArray()
            .SelectMany(s => s.GetProperty("values").EnumerateArray().Select(v => v[1].GetString()!)).ToArray();
        Assert.Equal(["recent"], lines);
    }
}
