using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Pipeline.Aggregator.Tests.Http;
using static Pipeline.Aggregator.Tests.TestData;

namespace Pipeline.Aggregator.Tests.Grafana;

/// <summary>
/// The requests logcli sends, as its client builds them (grafana/loki <c>pkg/logcli/client/client.go</c>: paths from the
/// <c>queryPath</c> … <c>detectedFieldsPath</c> constants, parameters from <c>Query</c>, <c>QueryRange</c>,
/// <c>ListLabelNames</c>, <c>ListLabelValues</c>, <c>Series</c>, <c>GetStats</c>, <c>getVolume</c>,
/// <c>GetDetectedFields</c> and <c>LiveTailQueryConn</c>; headers from <c>getHTTPRequestHeader</c>), each answered with the
/// shape logcli unmarshals (<c>pkg/loghttp</c>). logcli itself is not installed here.
/// </summary>
public sealed class LogcliReplayTests
{
    private const long Second = 1_000_000_000;
    private const string UserAgent = "loki-logcli/3.5.0";
    private static readonly long Start = StartNs - (3600 * Second);

    private static async Task<ServerHarness> SeededAsync()
    {
        var harness = await ServerHarness.StartAsync(o => o.MultiTenant = true);
        foreach (var (labels, ts, line) in new[]
        {
            ("{app=\"api\", level=\"info\"}", StartNs - (60 * Second), "level=info msg=\"GET /users\" status=200 took=12ms"),
            ("{app=\"api\", level=\"info\"}", StartNs - (50 * Second), "level=info msg=\"GET /orders\" status=200 took=7ms"),
            ("{app=\"api\", level=\"error\"}", StartNs - (40 * Second), "level=error msg=\"db down\" status=500 took=1ms"),
            ("{app=\"web\", level=\"info\"}", StartNs - (30 * Second), "{\"path\":\"/\",\"status\":200}"),
        })
        {
            using var push = await harness.PushJsonAsync(ServerHarness.JsonBody(labels, (ts, line)), "team");
            Assert.Equal(HttpStatusCode.NoContent, push.StatusCode);
        }

        return harness;
    }

    /// <summary>What <c>doRequest</c> sends: GET with <c>User-Agent</c> and <c>X-Scope-OrgID</c> (<c>--org-id</c>).</summary>
    private static async Task<JsonElement> LogcliGetAsync(ServerHarness harness, string path, string query)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path.TrimStart('/') + "?" + query);
        request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
        request.Headers.Add("X-Scope-OrgID", "team");
        using var response = await harness.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static string E(string value) => Uri.EscapeDataString(value);

    [Fact]
    public async Task Query_RangeBackwardWithLimit()
    {
        await using var harness = await SeededAsync();

        // logcli query '{app="api"}' --limit 30: query, limit, start, end (ns), direction; step/interval only when set.
        var json = await LogcliGetAsync(harness, "/loki/api/v1/query_range", $"direction=BACKWARD&end={StartNs}&limit=30&query={E("{app=\"api\"}")}&start={Start}");
        Assert.Equal("success", json.GetProperty("status").GetString());
        Assert.Equal("streams", json.GetProperty("data").GetProperty("resultType").GetString());
        Assert.Equal(2, json.GetProperty("data").GetProperty("result").GetArrayLength());

        // A metric query with --step 60s: step as float seconds (params.SetFloat).
        var metric = await LogcliGetAsync(harness, "/loki/api/v1/query_range", $"direction=BACKWARD&end={StartNs}&limit=30&query={E("sum(count_over_time({app=\"api\"}[1m]))")}&start={Start}&step=60");
        Assert.Equal("matrix", metric.GetProperty("data").GetProperty("resultType").GetString());
    }

    [Fact]
    public async Task InstantQuery_TimeInNanoseconds()
    {
        await using var harness = await SeededAsync();

        // logcli instant-query: query, limit, time (ns), direction.
        var json = await LogcliGetAsync(harness, "/loki/api/v1/query", $"direction=BACKWARD&limit=30&query={E("sum by (level) (count_over_time({app=\"api\"}[5m]))")}&time={StartNs}");
        Assert.Equal("vector", json.GetProperty("data").GetProperty("resultType").GetString());
        var levels = json.GetProperty("data").GetProperty("result").EnumerateArray().Select(r => r.GetProperty("metric").GetProperty("level").GetString()!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["error", "info"], levels);
    }

    [Fact]
    public async Task Labels_NamesAndValues()
    {
        await using var harness = await SeededAsync();

        // logcli labels / logcli labels app: start and end only.
        var names = await LogcliGetAsync(harness, "/loki/api/v1/labels", $"end={StartNs}&start={Start}");
        // service_name is added at ingest (from app), as Loki 3 does by default.
        Assert.Equal(["app", "level", "service_name"], names.GetProperty("data").EnumerateArray().Select(v => v.GetString()!).ToArray());
        var values = await LogcliGetAsync(harness, "/loki/api/v1/label/app/values", $"end={StartNs}&start={Start}");
        Assert.Equal(["api", "web"], values.GetProperty("data").EnumerateArray().Select(v => v.GetString()!).ToArray());
    }

    [Fact]
    public async Task Series_MatchParameter()
    {
        await using var harness = await SeededAsync();

        // logcli series '{app="api"}': the selector goes as "match" (SetStringArray), not "match[]".
        var json = await LogcliGetAsync(harness, "/loki/api/v1/series", $"end={StartNs}&match={E("{app=\"api\"}")}&start={Start}");
        Assert.Equal(2, json.GetProperty("data").GetArrayLength());
        Assert.All(json.GetProperty("data").EnumerateArray(), s => Assert.Equal("api", s.GetProperty("app").GetString()));
    }

    [Fact]
    public async Task Stats_AndVolumeWithAggregateByLabels()
    {
        await using var harness = await SeededAsync();

        // logcli stats: start, end, query; answered as logproto.IndexStatsResponse.
        var stats = await LogcliGetAsync(harness, "/loki/api/v1/index/stats", $"end={StartNs}&query={E("{app=\"api\"}")}&start={Start}");
        Assert.Equal(2, stats.GetProperty("streams").GetInt64());
        Assert.Equal(3, stats.GetProperty("entries").GetInt64());
        Assert.True(stats.GetProperty("bytes").GetInt64() > 0);

        // logcli volume '{app=~".+"}': start, end, query, limit (as "%d"); --aggregate-by labels adds aggregateBy=labels.
        var volume = await LogcliGetAsync(harness, "/loki/api/v1/index/volume", $"end={StartNs}&limit=100&query={E("{app=~\".+\"}")}&start={Start}");
        Assert.Equal("vector", volume.GetProperty("data").GetProperty("resultType").GetString());
        Assert.Equal(["api", "web"], volume.GetProperty("data").GetProperty("result").EnumerateArray().Select(r => r.GetProperty("metric").GetProperty("app").GetString()!).ToArray());

        var byLabels = await LogcliGetAsync(harness, "/loki/api/v1/index/volume", $"aggregateBy=labels&end={StartNs}&limit=100&query={E("{app=~\".+\"}")}&start={Start}");
        Assert.Equal(["app", "level", "service_name"], byLabels.GetProperty("data").GetProperty("result").EnumerateArray().Select(r => r.GetProperty("metric").EnumerateObject().Single().Name).Order(StringComparer.Ordinal).ToArray());

        // logcli volume_range --step 1m: the step as whole seconds without a unit ("%d").
        var range = await LogcliGetAsync(harness, "/loki/api/v1/index/volume_range", $"end={StartNs}&limit=100&query={E("{app=\"api\"}")}&start={StartNs - (120 * Second)}&step=60&targetLabels=level");
        Assert.Equal("matrix", range.GetProperty("data").GetProperty("resultType").GetString());
        Assert.Equal(["error", "info"], range.GetProperty("data").GetProperty("result").EnumerateArray().Select(r => r.GetProperty("metric").GetProperty("level").GetString()!).Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task DetectedFields_LimitLineLimitAndStep()
    {
        await using var harness = await SeededAsync();

        // logcli detected-fields '{app="api"}': query, limit, line_limit, start, end, and step as a Go duration string.
        var json = await LogcliGetAsync(harness, "/loki/api/v1/detected_fields", $"end={StartNs}&limit=100&line_limit=1000&query={E("{app=\"api\"}")}&start={Start}&step=10s");
        var labels = json.GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("label").GetString()!).ToArray();
        Assert.Contains("status", labels);
        Assert.Contains("took", labels);
    }

    [Fact]
    public async Task Tail_WebsocketAsLiveTailQueryConn_ReadsHistoryThenLiveEntries()
    {
        await using var harness = await SeededAsync();

        // logcli query --tail --limit 2 '{app="api"}': ws URL with query, limit, start (ns) (delay_for only when set); the
        // headers of getHTTPRequestHeader on the handshake. Every message must unmarshal as loghttp.TailResponse.
        var uri = new Uri(harness.Server.BaseAddress.ToString().Replace("http://", "ws://", StringComparison.Ordinal)
            + $"loki/api/v1/tail?limit=2&query={E("{app=\"api\"}")}&start={Start}");
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("User-Agent", UserAgent);
        socket.Options.SetRequestHeader("X-Scope-OrgID", "team");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.ConnectAsync(uri, timeout.Token);

        var history = await ServerHarness.ReceiveJsonAsync(socket, timeout.Token);
        Assert.Equal(["level=info msg=\"GET /orders\" status=200 took=7ms", "level=error msg=\"db down\" status=500 took=1ms"], Lines(history));

        using (var push = await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"api\", level=\"info\"}", (StartNs - Second, "level=info msg=live")), "team"))
        {
            Assert.Equal(HttpStatusCode.NoContent, push.StatusCode);
        }

        var live = await ServerHarness.ReceiveJsonAsync(socket, timeout.Token);
        Assert.Equal(["level=info msg=live"], Lines(live));
        Assert.True(live.GetProperty("dropped_entries").ValueKind is JsonValueKind.Null or JsonValueKind.Array);

        // logcli closes with a normal close frame (on SIGINT); the server answers it.
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, string.Empty, timeout.Token);
        Assert.Equal(WebSocketState.Closed, socket.State);
    }

    [Fact]
    public async Task DrilldownPatternsTab_IsoTimesAndIntervalStep()
    {
        await using var harness = await SeededAsync();

        // Logs Drilldown's Patterns tab (grafana/logs-drilldown src/services/datasource.ts, getPatterns): the data source
        // resource "patterns" with start/end as ISO strings, step = the panel interval, query = the service's selector,
        // and an X-Query-Tags header; it reads data[].pattern, data[].level and data[].samples as [seconds, count].
        var start = DateTimeOffset.FromUnixTimeMilliseconds((StartNs - (3600 * Second)) / 1_000_000).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
        var end = DateTimeOffset.FromUnixTimeMilliseconds(StartNs / 1_000_000).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"loki/api/v1/patterns?end={E(end)}&query={E("{app=\"api\"}")}&start={E(start)}&step=1m");
        request.Headers.Add("X-Scope-OrgID", "team");
        request.Headers.Add("X-Query-Tags", "Source=grafana-lokiexplore-app");
        using var response = await harness.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        var data = JsonDocument.Parse(body).RootElement.GetProperty("data").EnumerateArray().ToArray();
        var info = data.Where(p => p.GetProperty("level").GetString() == "info").ToArray();
        Assert.All(info, p => Assert.StartsWith("level=info msg=\"GET /", p.GetProperty("pattern").GetString(), StringComparison.Ordinal));
        Assert.Equal(2, info.Sum(p => p.GetProperty("samples").EnumerateArray().Sum(s => s[1].GetInt64())));
        Assert.Contains(data, p => p.GetProperty("level").GetString() == "error");
    }

    /// <summary>The lines of a tail response in the order logcli prints them (stream by stream, entry by entry).</summary>
    private static string[] Lines(JsonElement response) =>
        response.GetProperty("streams").EnumerateArray()
            .SelectMany(s => s.GetProperty("values").EnumerateArray().Select(v => (Ts: long.Parse(v[0].GetString()!, System.Globalization.CultureInfo.InvariantCulture), Line: v[1].GetString()!)))
            .OrderBy(e => e.Ts).Select(e => e.Line).ToArray();
}
