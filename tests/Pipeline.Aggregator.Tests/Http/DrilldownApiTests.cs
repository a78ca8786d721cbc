using System.Net;
using System.Text.Json;
using static Pipeline.Aggregator.Tests.TestData;

namespace Pipeline.Aggregator.Tests.Http;

/// <summary>
/// Logs Drilldown's endpoints in Loki's shapes: <c>detected_labels</c> (IDs left out), <c>detected_fields</c> (structured
/// metadata with null parsers, nested JSON flattened with its path, types), <c>detected_field/{name}/values</c>,
/// <c>drilldown-limits</c> and <c>format_query</c>.
/// </summary>
public sealed class DrilldownApiTests
{
    private const long Second = 1_000_000_000;
    private static readonly long T1 = StartNs - (20 * Second);
    private static readonly long T2 = StartNs - (10 * Second);

    private static async Task<ServerHarness> SeededAsync()
    {
        var harness = await ServerHarness.StartAsync();
        var line1 = JsonSerializer.Serialize("{\"level\":\"info\",\"user\":{\"id\":7,\"name\":\"ann\"},\"dur\":\"2s\",\"size\":\"3KB\",\"ok\":true,\"tags\":[\"a\"],\"none\":null}");
        var line2 = JsonSerializer.Serialize("{\"level\":\"error\",\"user\":{\"id\":8,\"name\":\"bob\"},\"dur\":\"1.5s\",\"size\":\"3KB\",\"ok\":false}");
        var body = "{\"streams\":["
            + "{\"stream\":{\"app\":\"shop\",\"pod\":\"1234\",\"request_id\":\"0f8fad5b-d9cb-469f-a165-70867728950e\"},\"values\":["
            + $"[\"{T1}\",{line1},{{\"trace_id\":\"abc\"}}],[\"{T2}\",{line2}]]}},"
            + "{\"stream\":{\"app\":\"shop\",\"pod\":\"5678\",\"request_id\":\"7c9e6679-7425-40de-944b-e07fc1f90ae7\"},\"values\":[[\"" + T1 + "\",\"x\"]]},"
            + "{\"stream\":{\"app\":\"cart\",\"flag\":\"1\",\"env\":\"prod\"},\"values\":[[\"" + T1 + "\",\"y\"]]}]}";
        using var response = await harness.PushJsonAsync(body);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        return harness;
    }

    private static string Range => $"&start={StartNs - (3600 * Second)}&end={StartNs}";

    [Fact]
    public async Task DetectedLabels_LeavesOutIdLabels_KeepsStaticAndBooleanOnes()
    {
        await using var harness = await SeededAsync();
        var json = await harness.GetJsonAsync("loki/api/v1/detected_labels?query=" + Range);
        Assert.Equal(
            "{\"detectedLabels\":[{\"label\":\"app\",\"cardinality\":2},{\"label\":\"env\",\"cardinality\":1},{\"label\":\"flag\",\"cardinality\":1},"
            + "{\"label\":\"pod\",\"cardinality\":2},{\"label\":\"service_name\",\"cardinality\":2}]}",
            ServerHarness.WithoutStats(json));

        var shop = await harness.GetJsonAsync("loki/api/v1/detected_labels?query=" + Uri.EscapeDataString("{service_name=\"cart\"}") + Range);
        Assert.Equal(["app", "env", "flag", "service_name"], shop.GetProperty("detectedLabels").EnumerateArray().Select(l => l.GetProperty("label").GetString()!).ToArray());
    }

    [Theory]
    [InlineData(new[] { "1", "0" }, false)]
    [InlineData(new[] { "1", "2", "3" }, true)]
    [InlineData(new[] { "0f8fad5b-d9cb-469f-a165-70867728950e" }, true)]
    [InlineData(new[] { "12", "web" }, false)]
    [InlineData(new string[0], true)]
    public void IdLike_AsLokisShouldRejectLabel(string[] values, bool rejected) =>
        Assert.Equal(rejected, Pipeline.Aggregator.Http.QueryApi.LooksLikeIds(values));

    private const string ShopFields =
        "{\"fields\":["
        + "{\"label\":\"detected_level\",\"type\":\"string\",\"cardinality\":2,\"parsers\":null},"
        + "{\"label\":\"dur\",\"type\":\"duration\",\"cardinality\":2,\"parsers\":[\"json\"],\"jsonPath\":[\"dur\"]},"
        + "{\"label\":\"level\",\"type\":\"string\",\"cardinality\":2,\"parsers\":[\"json\"],\"jsonPath\":[\"level\"]},"
        + "{\"label\":\"ok\",\"type\":\"boolean\",\"cardinality\":2,\"parsers\":[\"json\"],\"jsonPath\":[\"ok\"]},"
        + "{\"label\":\"size\",\"type\":\"bytes\",\"cardinality\":1,\"parsers\":[\"json\"],\"jsonPath\":[\"size\"]},"
        + "{\"label\":\"trace_id\",\"type\":\"string\",\"cardinality\":1,\"parsers\":null},"
        + "{\"label\":\"user_id\",\"type\":\"int\",\"cardinality\":2,\"parsers\":[\"json\"],\"jsonPath\":[\"user\",\"id\"]},"
        + "{\"label\":\"user_name\",\"type\":\"string\",\"cardinality\":2,\"parsers\":[\"json\"],\"jsonPath\":[\"user\",\"name\"]}],"
        + "\"limit\":1000}";

    [Theory]
    [InlineData("{app=\"shop\", pod=\"1234\"}")]
    [InlineData("{app=\"shop\", pod=\"1234\"} | json")]
    public async Task DetectedFields_MetadataNullParsers_NestedJsonWithPath_Types(string query)
    {
        await using var harness = await SeededAsync();
        var json = await harness.GetJsonAsync("loki/api/v1/detected_fields?query=" + Uri.EscapeDataString(query) + Range);
        Assert.Equal(ShopFields, ServerHarness.WithoutStats(json));
    }

    [Fact]
    public async Task DetectedFields_LimitAndLineLimit()
    {
        await using var harness = await SeededAsync();
        var json = await harness.GetJsonAsync("loki/api/v1/detected_fields?limit=2&line_limit=1&query=" + Uri.EscapeDataString("{pod=\"1234\"}") + Range);
        Assert.Equal(2, json.GetProperty("fields").GetArrayLength());
        Assert.Equal(2, json.GetProperty("limit").GetInt32());

        var none = await harness.GetJsonAsync("loki/api/v1/detected_fields?query=" + Uri.EscapeDataString("{app=\"none\"}") + Range);
        Assert.Equal("{}", ServerHarness.WithoutStats(none));
    }

    [Fact]
    public async Task DetectedFieldValues_NewestFirst_FromLineAndMetadata()
    {
        await using var harness = await SeededAsync();
        var query = "?query=" + Uri.EscapeDataString("{app=\"shop\", pod=\"1234\"}") + Range;
        Assert.Equal("{\"values\":[\"bob\",\"ann\"],\"limit\":1000}",
            ServerHarness.WithoutStats(await harness.GetJsonAsync("loki/api/v1/detected_field/user_name/values" + query)));
        Assert.Equal("{\"values\":[\"error\",\"info\"],\"limit\":1000}",
            ServerHarness.WithoutStats(await harness.GetJsonAsync("loki/api/v1/detected_field/detected_level/values" + query)));
        Assert.Equal("{}", ServerHarness.WithoutStats(await harness.GetJsonAsync("loki/api/v1/detected_field/nothing/values" + query)));
    }

    [Fact]
    public async Task DrilldownLimits_LokisShape()
    {
        await using var harness = await ServerHarness.StartAsync(o => o.Limits.DiscoverLogLevels = false);
        var json = await harness.GetJsonAsync("loki/api/v1/drilldown-limits");
        var limits = json.GetProperty("limits");
        Assert.False(limits.GetProperty("discover_log_levels").GetBoolean());
        Assert.Equal("service", limits.GetProperty("discover_service_name")[0].GetString());
        Assert.Equal("level", limits.GetProperty("log_level_fields")[0].GetString());
        Assert.Equal(5000, limits.GetProperty("max_entries_limit_per_query").GetInt32());
        Assert.Equal("30d1h", limits.GetProperty("max_query_length").GetString());
        Assert.Equal("1m", limits.GetProperty("query_timeout").GetString());
        Assert.True(limits.GetProperty("volume_enabled").GetBoolean());
        Assert.Equal(JsonValueKind.True, json.GetProperty("pattern_ingester_enabled").ValueKind);
        Assert.False(string.IsNullOrEmpty(json.GetProperty("version").GetString()));
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(90 * 24 * 3600, "90d")]
    [InlineData(14 * 24 * 3600, "2w")]
    [InlineData(721 * 3600, "30d1h")]
    [InlineData(61, "1m1s")]
    public void PrometheusDuration_AsModelDuration(int seconds, string expected) =>
        Assert.Equal(expected, Pipeline.Aggregator.Http.QueryApi.PrometheusDuration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public async Task FormatQuery_CanonicalForm_OrInvalidQuery()
    {
        await using var harness = await ServerHarness.StartAsync();
        var ok = await harness.GetJsonAsync("loki/api/v1/format_query?query=" + Uri.EscapeDataString("{app=\"shop\"}|json|level=\"error\""));
        Assert.Equal("success", ok.GetProperty("status").GetString());
        Assert.Equal("{app=\"shop\"} | json | level=\"error\"", ok.GetProperty("data").GetString());

        var (status, body) = await harness.GetAsync("loki/api/v1/format_query?query=" + Uri.EscapeDataString("{app="));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        using var error = JsonDocument.Parse(body);
        Assert.Equal("invalid-query", error.RootElement.GetProperty("status").GetString());
        Assert.False(string.IsNullOrEmpty(error.RootElement.GetProperty("error").GetString()));
    }
}
