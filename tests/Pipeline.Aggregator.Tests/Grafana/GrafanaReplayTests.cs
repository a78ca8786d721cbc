using System.Globalization;
using System.Net;
using System.Text.Json;
using Pipeline.Aggregator.Tests.Http;
using static Pipeline.Aggregator.Tests.TestData;

namespace Pipeline.Aggregator.Tests.Grafana;

/// <summary>
/// The requests Grafana's Loki data source and its Logs Drilldown app send, replayed against the aggregator, each
/// answered with the shape they parse. Paths, parameters and headers are taken from their sources, cited per step:
/// grafana/grafana <c>pkg/tsdb/loki/healthcheck.go</c> and <c>api.go</c> (<c>makeDataRequest</c>), the data source's
/// <c>public/app/plugins/datasource/loki/</c> (<c>LanguageProvider.ts</c>, <c>modifyQuery.ts</c>), Grafana's response
/// reader <c>pkg/util/converter/prom.go</c> (<c>readCategorizedStream</c> reads a third element from every value once
/// <c>encodingFlags</c> holds <c>categorize-labels</c>), and grafana/logs-drilldown <c>src/services/datasource.ts</c>.
/// </summary>
public sealed class GrafanaReplayTests
{
    private const long Second = 1_000_000_000;
    private const string Categorize = "categorize-labels";

    private static readonly long T1 = StartNs - (50 * Second);
    private static readonly long T2 = StartNs - (40 * Second);
    private static readonly long T3 = StartNs - (20 * Second);

    /// <summary>An app logging JSON without a level label (what Loki 3 gives service_name and detected_level to), and a plain one.</summary>
    private static async Task<ServerHarness> SeededAsync()
    {
        var harness = await ServerHarness.StartAsync();
        string Json(string line) => JsonSerializer.Serialize(line);
        var body = "{\"streams\":["
            + "{\"stream\":{\"app\":\"shop\",\"namespace\":\"prod\"},\"values\":["
            + $"[\"{T1}\",{Json("{\"level\":\"info\",\"msg\":\"order placed\",\"user\":{\"id\":7}}")},{{\"trace_id\":\"abc\"}}],"
            + $"[\"{T2}\",{Json("{\"level\":\"error\",\"msg\":\"payment failed\",\"user\":{\"id\":8}}")},{{\"trace_id\":\"def\"}}],"
            + $"[\"{T3}\",{Json("{\"severity\":\"WARNING\",\"msg\":\"slow\",\"user\":{\"id\":7}}")}]]}},"
            + "{\"stream\":{\"container\":\"worker\",\"namespace\":\"prod\"},\"values\":["
            + $"[\"{T2}\",\"job 3 done\"]]}}]}}";
        using var response = await harness.PushJsonAsync(body);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        return harness;
    }

    private static async Task<JsonElement> GetAsync(ServerHarness harness, string pathAndQuery, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await harness.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{pathAndQuery}: {response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static string Q(string query) => Uri.EscapeDataString(query);

    /// <summary>Grafana's data source range parameters (api.go): nanosecond start/end, step in ms, limit, direction.</summary>
    private static string RangeParams => $"&direction=backward&limit=1000&start={StartNs - (3600 * Second)}&end={StartNs}&step=14000ms";

    /// <summary>Drilldown's resource parameters (datasource.ts): start and end as ISO strings.</summary>
    private static string IsoRange =>
        "&start=" + Q(DateTimeOffset.FromUnixTimeMilliseconds((StartNs / 1_000_000) - 3_600_000).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture))
        + "&end=" + Q(DateTimeOffset.FromUnixTimeMilliseconds(StartNs / 1_000_000).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));

    [Fact]
    public async Task SaveAndTest_InstantVectorOnePlusOne()
    {
        // healthcheck.go: expr vector(1)+vector(1), instant, range 1 s..4 s; api.go sends time=End in ns and direction.
        await using var harness = await ServerHarness.StartAsync();
        var json = await GetAsync(harness, "loki/api/v1/query?query=" + Q("vector(1)+vector(1)") + "&direction=backward&time=4000000000");
        var data = json.GetProperty("data");
        Assert.Equal("vector", data.GetProperty("resultType").GetString());
        Assert.Equal("2", Assert.Single(data.GetProperty("result").EnumerateArray()).GetProperty("value")[1].GetString());
    }

    [Fact]
    public async Task Explore_JsonQuery_CategorizedValues_AndItsLogVolumeByDetectedLevel()
    {
        await using var harness = await SeededAsync();

        // Explore's log query with the categorize-labels flag: every value a 3-tuple, only stream labels in "stream".
        var logs = await GetAsync(harness, "loki/api/v1/query_range?query=" + Q("{service_name=\"shop\"} | json") + RangeParams, ("X-Loki-Response-Encoding-Flags", Categorize));
        var data = logs.GetProperty("data");
        Assert.Equal(Categorize, data.GetProperty("encodingFlags")[0].GetString());
        var stream = Assert.Single(data.GetProperty("result").EnumerateArray());
        Assert.Equal("{\"app\":\"shop\",\"namespace\":\"prod\",\"service_name\":\"shop\"}", stream.GetProperty("stream").ToString());
        var values = stream.GetProperty("values").EnumerateArray().ToArray();
        Assert.Equal(3, values.Length);
        Assert.All(values, v => Assert.Equal(3, v.GetArrayLength()));
        var newest = values[0][2];
        Assert.Equal("warn", newest.GetProperty("structuredMetadata").GetProperty("detected_level").GetString());
        Assert.Equal("7", newest.GetProperty("parsed").GetProperty("user_id").GetString());
        Assert.Equal("def", values[1][2].GetProperty("structuredMetadata").GetProperty("trace_id").GetString());

        // Its log volume (X-Query-Tags: Source=logvolhist, api.go): levels from detected_level though no stream has a level label.
        var volume = await GetAsync(
            harness,
            "loki/api/v1/query_range?query=" + Q("sum by (level, detected_level) (count_over_time({service_name=\"shop\"} | drop __error__ [1m]))") + RangeParams,
            ("X-Query-Tags", "Source=logvolhist"), ("X-Loki-Response-Encoding-Flags", Categorize));
        var levels = volume.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(s => s.GetProperty("metric").GetProperty("detected_level").GetString()!).Order().ToArray();
        Assert.Equal(["error", "info", "warn"], levels);
    }

    [Fact]
    public async Task LabelBrowser_LabelsAndValues_IncludeServiceName()
    {
        await using var harness = await SeededAsync();

        // LanguageProvider.ts: labels and label/<name>/values over the time range (ns), values narrowed by a selector.
        var labels = await GetAsync(harness, $"loki/api/v1/labels?start={StartNs - (3600 * Second)}&end={StartNs}");
        Assert.Equal(["app", "container", "namespace", "service_name"], labels.GetProperty("data").EnumerateArray().Select(v => v.GetString()!).ToArray());
        var services = await GetAsync(harness, $"loki/api/v1/label/service_name/values?start={StartNs - (3600 * Second)}&end={StartNs}");
        Assert.Equal(["shop", "worker"], services.GetProperty("data").EnumerateArray().Select(v => v.GetString()!).ToArray());
        var narrowed = await GetAsync(harness, "loki/api/v1/label/service_name/values?query=" + Q("{namespace=\"prod\", container=\"worker\"}") + $"&start={StartNs - (3600 * Second)}&end={StartNs}");
        Assert.Equal(["worker"], narrowed.GetProperty("data").EnumerateArray().Select(v => v.GetString()!).ToArray());
    }

    [Fact]
    public async Task FilterForValue_OnAMetadataField_IsALabelFilterAfterTheSelector()
    {
        await using var harness = await SeededAsync();

        // modifyQuery.ts: a structured-metadata field (known from the categorized answer) becomes "| trace_id=`abc`", not a
        // stream selector matcher (which would match no stream).
        var json = await GetAsync(harness, "loki/api/v1/query_range?query=" + Q("{service_name=\"shop\"} | trace_id=`abc`") + RangeParams, ("X-Loki-Response-Encoding-Flags", Categorize));
        var value = Assert.Single(Assert.Single(json.GetProperty("data").GetProperty("result").EnumerateArray()).GetProperty("values").EnumerateArray());
        Assert.Equal(T1.ToString(CultureInfo.InvariantCulture), value[0].GetString());

        var inSelector = await GetAsync(harness, "loki/api/v1/query_range?query=" + Q("{service_name=\"shop\", trace_id=\"abc\"}") + RangeParams, ("X-Loki-Response-Encoding-Flags", Categorize));
        Assert.Empty(inSelector.GetProperty("data").GetProperty("result").EnumerateArray());
    }

    [Fact]
    public async Task Drilldown_LandingPage_LimitsAndServicesByVolume()
    {
        await using var harness = await SeededAsync();

        // datasource.ts getConfig: drilldown-limits with X-Query-Tags; LokiConfig's fields.
        var config = await GetAsync(harness, "loki/api/v1/drilldown-limits", ("X-Grafana-Cache", "private, max-age=86400"), ("X-Query-Tags", "Source=grafana-lokiexplore-app"));
        Assert.True(config.GetProperty("limits").GetProperty("discover_log_levels").GetBoolean());
        Assert.Equal(JsonValueKind.Array, config.GetProperty("limits").GetProperty("discover_service_name").ValueKind);
        Assert.Equal(JsonValueKind.String, config.GetProperty("version").ValueKind);

        // datasource.ts getVolume: index/volume of service_name=~".+" with limit 5000, ISO times; it reads metric[primaryLabel].
        var volume = await GetAsync(harness, "loki/api/v1/index/volume?query=" + Q("{service_name=~\".+\"}") + "&limit=5000" + IsoRange);
        var services = volume.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(r => r.GetProperty("metric").GetProperty("service_name").GetString()!).Order().ToArray();
        Assert.Equal(["shop", "worker"], services);

        // datasource.ts getLabels: labels over ISO times.
        var labels = await GetAsync(harness, "loki/api/v1/labels?" + IsoRange[1..]);
        Assert.Contains("service_name", labels.GetProperty("data").EnumerateArray().Select(v => v.GetString()));
    }

    [Fact]
    public async Task Drilldown_ServiceLabelsAndFieldsTabs()
    {
        await using var harness = await SeededAsync();

        // datasource.ts getDetectedLabels: detected_labels?query=<selector>&start&end (ISO); it reads detectedLabels[].label/cardinality.
        var labels = await GetAsync(harness, "loki/api/v1/detected_labels?query=" + Q("{service_name=\"shop\"}") + IsoRange, ("X-Query-Tags", "Source=grafana-lokiexplore-app"));
        Assert.Equal(
            "{\"detectedLabels\":[{\"label\":\"app\",\"cardinality\":1},{\"label\":\"namespace\",\"cardinality\":1},{\"label\":\"service_name\",\"cardinality\":1}]}",
            ServerHarness.WithoutStats(labels));

        // datasource.ts getDetectedFields: fields[].label/cardinality/parsers/type/jsonPath; parsers null means structured metadata.
        var fields = await GetAsync(harness, "loki/api/v1/detected_fields?query=" + Q("{service_name=\"shop\"}") + IsoRange);
        var byName = fields.GetProperty("fields").EnumerateArray().ToDictionary(f => f.GetProperty("label").GetString()!);
        Assert.Equal(JsonValueKind.Null, byName["trace_id"].GetProperty("parsers").ValueKind);
        Assert.Equal(JsonValueKind.Null, byName["detected_level"].GetProperty("parsers").ValueKind);
        Assert.Equal(3, byName["detected_level"].GetProperty("cardinality").GetInt32());
        Assert.Equal("json", byName["user_id"].GetProperty("parsers")[0].GetString());
        Assert.Equal("int", byName["user_id"].GetProperty("type").GetString());
        Assert.Equal("[\"user\",\"id\"]", byName["user_id"].GetProperty("jsonPath").ToString());

        // The field's values (Drilldown's value breakdown), newest first.
        var values = await GetAsync(harness, "loki/api/v1/detected_field/user_id/values?query=" + Q("{service_name=\"shop\"}") + IsoRange);
        Assert.Equal(["7", "8"], values.GetProperty("values").EnumerateArray().Select(v => v.GetString()!).ToArray());
    }
}
