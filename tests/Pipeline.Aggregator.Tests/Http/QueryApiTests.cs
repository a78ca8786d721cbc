using System.Net;
using System.Net.WebSockets;
using System.Text;
using static Pipeline.Aggregator.Tests.TestData;

namespace Pipeline.Aggregator.Tests.Http;

public sealed class QueryApiTests
{
    private const long Second = 1_000_000_000;
    private static readonly long T1 = StartNs - (60 * Second);
    private static readonly long T2 = StartNs - (30 * Second);
    private static readonly long T3 = StartNs - (10 * Second);

    private static async Task<ServerHarness> SeededAsync(Action<Pipeline.Aggregator.Http.AggregatorServerOptions>? configure = null)
    {
        // The goldens here show the streams as pushed: what Loki 3 adds at ingest (service_name, detected_level) is
        // covered by the discovery and Grafana tests.
        var harness = await ServerHarness.StartAsync(o =>
        {
            o.Limits.DiscoverServiceName = [];
            o.Limits.DiscoverLogLevels = false;
            configure?.Invoke(o);
        });
        await harness.PushOkAsync("{app=\"api\", level=\"info\"}", (T1, "level=info msg=\"started\" took=12"), (T3, "level=info msg=done took=3"));
        await harness.PushOkAsync("{app=\"api\", level=\"error\"}", (T2, "level=error msg=failed"));
        await harness.PushOkAsync("{app=\"web\", level=\"info\"}", (T2, "{\"status\":200,\"path\":\"/\"}"));
        return harness;
    }

    [Fact]
    public async Task QueryRange_LogQuery_ReturnsStreamsGolden()
    {
        await using var harness = await SeededAsync();
        var json = await harness.GetJsonAsync("loki/api/v1/query_range?query=" + Uri.EscapeDataString("{app=\"api\"}"));
        Assert.Equal(
            "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":["
            + "{\"stream\":{\"app\":\"api\",\"level\":\"error\"},\"values\":[[\"" + T2 + "\",\"level=error msg=failed\"]]},"
            + "{\"stream\":{\"app\":\"api\",\"level\":\"info\"},\"values\":[[\"" + T3 + "\",\"level=info msg=done took=3\"],[\"" + T1 + "\",\"level=info msg=\\\"started\\\" took=12\"]]}]}}",
            ServerHarness.WithoutStats(json));
        Assert.True(json.GetProperty("data").GetProperty("stats").GetProperty("summary").TryGetProperty("totalLinesProcessed", out _));
    }

    [Fact]
    public async Task QueryRange_MetricQuery_ReturnsMatrixWithSecondsAndStringValues()
    {
        await using var harness = await SeededAsync();
        var start = StartNs - (120 * Second);
        var json = await harness.GetJsonAsync($"loki/api/v1/query_range?query={Uri.EscapeDataString("sum by (level) (count_over_time({app=~\".+\"}[1m]))")}&start={start}&end={StartNs}&step=60s");
        var golden = ServerHarness.WithoutStats(json);
        var s = StartNs / Second;
        Assert.Equal(
            "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
            + $"{{\"metric\":{{\"level\":\"error\"}},\"values\":[[{s},\"1\"]]}},"
            + $"{{\"metric\":{{\"level\":\"info\"}},\"values\":[[{s - 60},\"1\"],[{s},\"2\"]]}}]}}}}",
            golden);
    }

    [Fact]
    public async Task Query_GrafanaHealthCheck_VectorOnePlusVectorOneIsTwo()
    {
        await using var harness = await ServerHarness.StartAsync();
        var json = await harness.GetJsonAsync("loki/api/v1/query?query=" + Uri.EscapeDataString("vector(1)+vector(1)") + "&time=" + StartNs);
        var data = json.GetProperty("data");
        Assert.Equal("vector", data.GetProperty("resultType").GetString());
        var sample = Assert.Single(data.GetProperty("result").EnumerateArray());
        Assert.Equal("2", sample.GetProperty("value")[1].GetString());
        Assert.Equal(StartNs / Second, sample.GetProperty("value")[0].GetDouble());
    }

    [Fact]
    public async Task QueryRange_GrafanaLogVolume_ReturnsMatrix()
    {
        await using var harness = await SeededAsync();
        var query = "sum by (level) (count_over_time({app=\"api\"} | drop __error__[1m]))";
        var json = await harness.GetJsonAsync($"loki/api/v1/query_range?query={Uri.EscapeDataString(query)}&start={StartNs - (3600 * Second)}&end={StartNs}&step=60");
        Assert.Equal("matrix", json.GetProperty("data").GetProperty("resultType").GetString());
        Assert.Equal(2, json.GetProperty("data").GetProperty("result").GetArrayLength());
    }

    [Theory]
    [InlineData("{app=\"api\"", 400, "parse error")]
    [InlineData("sum(", 400, "parse error")]
    public async Task QueryRange_BadQuery_400WithParseMessage(string query, int status, string message)
    {
        await using var harness = await ServerHarness.StartAsync();
        var (code, body) = await harness.GetAsync("loki/api/v1/query_range?query=" + Uri.EscapeDataString(query));
        Assert.Equal(status, (int)code);
        Assert.Contains(message, body);
    }

    [Theory]
    [InlineData("start=abc", "cannot parse \"abc\" to a valid timestamp")]
    [InlineData("step=-5", "zero or negative query resolution step widths are not accepted")]
    [InlineData("limit=0", "limit must be a positive value")]
    [InlineData("direction=sideways", "invalid direction")]
    public async Task QueryRange_BadParameters_400(string parameter, string message)
    {
        await using var harness = await ServerHarness.StartAsync();
        var (code, body) = await harness.GetAsync("loki/api/v1/query_range?query=" + Uri.EscapeDataString("count_over_time({a=\"b\"}[1m])") + "&" + parameter);
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Contains(message, body);
    }

    [Theory]
    [InlineData("1764151200", 1764151200L * 1_000_000_000)]
    [InlineData("1764151200.5", 1764151200L * 1_000_000_000 + 500_000_000)]
    [InlineData("1764151200000000000", 1764151200L * 1_000_000_000)]
    [InlineData("2025-11-26T10:00:00Z", 1764151200L * 1_000_000_000)]
    public void TimeParameter_AcceptsSecondsNanosAndRfc3339(string text, long expected)
    {
        Assert.True(Pipeline.Aggregator.Http.QueryParameters.TryParseTime(text, 0, out var ns, out _));
        Assert.Equal(expected, ns);
    }

    [Fact]
    public async Task LogcliSequence_PagesBackwardThenSeriesAndLabels()
    {
        await using var harness = await SeededAsync();
        var query = Uri.EscapeDataString("{app=~\"api|web\"}");
        var page1 = await harness.GetJsonAsync($"loki/api/v1/query_range?query={query}&limit=2&direction=BACKWARD&start={StartNs - (3600 * Second)}&end={StartNs}");
        var times1 = Timestamps(page1);
        Assert.Equal([T3, T2], times1.Take(2).ToArray());

        // logcli asks for the next page ending at the oldest timestamp seen (end is exclusive) and drops repeats.
        var page2 = await harness.GetJsonAsync($"loki/api/v1/query_range?query={query}&limit=3&direction=BACKWARD&start={StartNs - (3600 * Second)}&end={times1.Min() + 1}");
        var all = times1.Concat(Timestamps(page2)).Distinct().OrderDescending().ToArray();
        Assert.Equal([T3, T2, T1], all);

        var series = await harness.GetJsonAsync($"loki/api/v1/series?match[]={Uri.EscapeDataString("{app=\"api\"}")}&match[]={Uri.EscapeDataString("{app=\"web\"}")}");
        Assert.Equal(
            "{\"status\":\"success\",\"data\":[{\"app\":\"api\",\"level\":\"error\"},{\"app\":\"api\",\"level\":\"info\"},{\"app\":\"web\",\"level\":\"info\"}]}",
            ServerHarness.WithoutStats(series));
        var labels = await harness.GetJsonAsync("loki/api/v1/labels");
        Assert.Equal("{\"status\":\"success\",\"data\":[\"app\",\"level\"]}", ServerHarness.WithoutStats(labels));
        var values = await harness.GetJsonAsync("loki/api/v1/label/level/values?query=" + Uri.EscapeDataString("{app=\"web\"}"));
        Assert.Equal("{\"status\":\"success\",\"data\":[\"info\"]}", ServerHarness.WithoutStats(values));
    }

    private static long[] Timestamps(System.Text.Json.JsonElement json) =>
        json.GetProperty("data").GetProperty("result").EnumerateArray()
            .SelectMany(s => s.GetProperty("values").EnumerateArray().Select(v => long.Parse(v[0].GetString()!)))
            .OrderDescending().ToArray();

    [Fact]
    public async Task IndexEndpoints_Golden()
    {
        await using var harness = await SeededAsync();
        var stats = await harness.GetJsonAsync("loki/api/v1/index/stats?query=" + Uri.EscapeDataString("{app=\"api\"}"));
        // Bytes are the entries' uncompressed size as stored (Loki's chunk size): 8 (timestamp) + 1 (length) + line + 1 (no metadata).
        var apiBytes = "level=info msg=\"started\" took=12".Length + "level=info msg=done took=3".Length + "level=error msg=failed".Length + (3 * 10);
        Assert.Equal($"{{\"streams\":2,\"chunks\":2,\"entries\":3,\"bytes\":{apiBytes}}}", ServerHarness.WithoutStats(stats));

        var volume = await harness.GetJsonAsync($"loki/api/v1/index/volume?query={Uri.EscapeDataString("{app=~\".+\"}")}&end={StartNs}");
        var webBytes = "{\"status\":200,\"path\":\"/\"}".Length + 10;
        Assert.Equal(
            $"{{\"status\":\"success\",\"data\":{{\"resultType\":\"vector\",\"result\":[{{\"metric\":{{\"app\":\"api\"}},\"value\":[{StartNs / Second},\"{apiBytes}\"]}},{{\"metric\":{{\"app\":\"web\"}},\"value\":[{StartNs / Second},\"{webBytes}\"]}}]}}}}",
            ServerHarness.WithoutStats(volume));

        var range = await harness.GetJsonAsync($"loki/api/v1/index/volume_range?query={Uri.EscapeDataString("{app=\"web\"}")}&start={StartNs - (60 * Second)}&end={StartNs}&step=60s");
        Assert.Equal(
            $"{{\"status\":\"success\",\"data\":{{\"resultType\":\"matrix\",\"result\":[{{\"metric\":{{\"app\":\"web\"}},\"values\":[[{StartNs / Second},\"{webBytes}\"]]}}]}}}}",
            ServerHarness.WithoutStats(range));

        var detectedLabels = await harness.GetJsonAsync("loki/api/v1/detected_labels?query=" + Uri.EscapeDataString("{app=~\".+\"}"));
        Assert.Equal("{\"detectedLabels\":[{\"label\":\"app\",\"cardinality\":2},{\"label\":\"level\",\"cardinality\":2}]}", ServerHarness.WithoutStats(detectedLabels));

        var fields = await harness.GetJsonAsync("loki/api/v1/detected_fields?query=" + Uri.EscapeDataString("{app=\"api\", level=\"info\"}"));
        Assert.Equal(
            "{\"fields\":[{\"label\":\"level_extracted\",\"type\":\"string\",\"cardinality\":1,\"parsers\":[\"logfmt\"]},{\"label\":\"msg\",\"type\":\"string\",\"cardinality\":2,\"parsers\":[\"logfmt\"]},{\"label\":\"took\",\"type\":\"int\",\"cardinality\":2,\"parsers\":[\"logfmt\"]}],\"limit\":1000}",
            ServerHarness.WithoutStats(fields));
    }

    [Fact]
    public async Task StatusEndpoints_ReadyBuildinfoMetrics()
    {
        await using var harness = await ServerHarness.StartAsync();
        var (status, body) = await harness.GetAsync("ready");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("ready\n", body);
        var build = await harness.GetJsonAsync("loki/api/v1/status/buildinfo");
        Assert.True(build.TryGetProperty("version", out _));
        Assert.True(build.TryGetProperty("goVersion", out _));

        using var tooLong = await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"m\"}", (T1, new string('x', 300 * 1024))));
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        var (_, metrics) = await harness.GetAsync("metrics");
        Assert.Contains("loki_discarded_samples_total{reason=\"line_too_long\",tenant=\"fake\"} 1", metrics);
        Assert.Contains("loki_discarded_bytes_total{reason=\"line_too_long\",tenant=\"fake\"} 307200", metrics);
    }

    [Fact]
    public async Task Tail_WebSocket_ReceivesPushedLine()
    {
        await using var harness = await SeededAsync();
        using var socket = new ClientWebSocket();
        var uri = new Uri(harness.Server.BaseAddress.ToString().Replace("http://", "ws://") + "loki/api/v1/tail?query=" + Uri.EscapeDataString("{app=\"api\"} |= \"tail\"") + "&start=" + StartNs);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.ConnectAsync(uri, timeout.Token);

        // The session subscribes before it accepts the websocket, so a push after ConnectAsync is seen.
        var buffer = new byte[64 * 1024];
        await harness.PushOkAsync("{app=\"api\", level=\"info\"}", (StartNs - Second, "tail me 0"), (StartNs - Second, "not me"));
        var receive = socket.ReceiveAsync(buffer, timeout.Token);
        var result = await receive;
        var text = Encoding.UTF8.GetString(buffer, 0, result.Count);
        Assert.Contains("\"streams\":[{\"stream\":{\"app\":\"api\",\"level\":\"info\"},\"values\":[[\"", text);
        Assert.Contains("tail me 0", text);
        Assert.DoesNotContain("not me", text);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, string.Empty, timeout.Token);
    }

    [Fact]
    public async Task Tail_WebSocket_TakesTenantAndTokenFromTheQueryString()
    {
        await using var harness = await ServerHarness.StartAsync(o => o.BearerTokens["secret-a"] = "team-a");
        var baseUri = harness.Server.BaseAddress.ToString().Replace("http://", "ws://") + "loki/api/v1/tail?query=" + Uri.EscapeDataString("{app=\"api\"}") + "&start=" + StartNs;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using (var anonymous = new ClientWebSocket())
        {
            var refused = await Assert.ThrowsAsync<WebSocketException>(() => anonymous.ConnectAsync(new Uri(baseUri), timeout.Token));
            Assert.Contains("401", refused.Message, StringComparison.Ordinal);
        }

        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri(baseUri + "&X-Scope-OrgID=team-a&token=secret-a"), timeout.Token);
        var body = ServerHarness.JsonBody("{app=\"api\"}", (StartNs - Second, "tail with token"));
        using (var push = await harness.PushJsonAsync(body, configure: r => r.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "secret-a")))
        {
            Assert.Equal(HttpStatusCode.NoContent, push.StatusCode);
        }

        var buffer = new byte[64 * 1024];
        var result = await socket.ReceiveAsync(buffer, timeout.Token);
        Assert.Contains("tail with token", Encoding.UTF8.GetString(buffer, 0, result.Count));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, string.Empty, timeout.Token);
    }
}
