using System.Net;
using System.Text;

namespace Pipeline.Aggregator.Tests.Http;

/// <summary>
/// A corpus of deep, long and malformed queries, sent by GET and by POST form: each is answered 4xx with a clear
/// message, and the server still answers /ready afterwards.
/// </summary>
public sealed class HostileQueryApiTests
{
    private const string Selector = "{app=\"api\"}";

    /// <summary>Query, expected status, a part of the expected message.</summary>
    public static TheoryData<string, int, string> Corpus() => new()
    {
        { new string('(', 40_000) + "1" + new string(')', 40_000), 400, "query nests too deeply" },
        { Repeat("sum(", 20_000) + "count_over_time(" + Selector + "[1m])" + new string(')', 20_000), 400, "query nests too deeply" },
        { string.Join("+", Enumerable.Repeat("1", 30_000)), 400, "query nests too deeply" },
        { Selector + " | " + new string('(', 30_000) + "a=\"1\"" + new string(')', 30_000), 400, "query nests too deeply" },
        { Selector + " |= \"" + new string('x', 132_000) + "\"", 400, "input size too long" },
        { Selector + " |~ \"" + new string('(', 20_000) + new string(')', 20_000) + "\"", 400, "expression nests too deeply" },
        { Selector + " |~ \"(a{100}){100}\"", 400, "invalid repeat count" },
        { Selector + " |~ \"a{1001}\"", 400, "invalid repeat count" },
        { Selector + " | line_format `" + Repeat("{{if .a}}", 5_000) + Repeat("{{end}}", 5_000) + "`", 400, "template nests too deeply" },
        { "{app=\"a\0\"}", 400, "invalid character" },
        { "{app=\"" + new string('"', 1) + "}", 400, "parse error" },
        { "", 400, "query parameter is required" },
    };

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task Get_HostileQuery_4xxAndStillReady(string query, int status, string message)
    {
        await using var harness = await ServerHarness.StartAsync();
        var (code, body) = await harness.GetAsync("loki/api/v1/query_range?query=" + Uri.EscapeDataString(query) + "&step=60s");
        Assert.Equal(status, (int)code);
        Assert.Contains(message, body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await harness.GetAsync("ready")).Status);
    }

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task PostForm_HostileQuery_4xxAndStillReady(string query, int status, string message)
    {
        await using var harness = await ServerHarness.StartAsync();
        using var form = new FormUrlEncodedContent([new("query", query), new("step", "60s")]);
        using var response = await harness.Client.PostAsync("loki/api/v1/query_range", form);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Contains(message, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await harness.GetAsync("ready")).Status);
    }

    [Theory]
    [InlineData("%FF")]
    [InlineData("%C3%28")]
    [InlineData("%ED%A0%80")]
    public async Task Get_QueryNotUtf8_400(string escaped)
    {
        await using var harness = await ServerHarness.StartAsync();
        var (code, body) = await harness.GetAsync("loki/api/v1/query_range?query=" + Uri.EscapeDataString("{app=\"") + escaped + Uri.EscapeDataString("\"}"));
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Contains("invalid UTF-8 encoding", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostForm_QueryNotUtf8_400()
    {
        await using var harness = await ServerHarness.StartAsync();
        var bytes = Encoding.ASCII.GetBytes("query=%7Bapp%3D%22").Concat(new byte[] { 0xFF }).Concat(Encoding.ASCII.GetBytes("%22%7D")).ToArray();
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("application/x-www-form-urlencoded");
        using var response = await harness.Client.PostAsync("loki/api/v1/query_range", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("invalid UTF-8 encoding", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostForm_BodyOverLimit_413AndStillReady()
    {
        await using var harness = await ServerHarness.StartAsync();
        using var content = new ByteArrayContent(Encoding.ASCII.GetBytes("query=" + new string('x', 2 * 1024 * 1024)));
        content.Headers.ContentType = new("application/x-www-form-urlencoded");
        using var response = await harness.Client.PostAsync("loki/api/v1/query_range", content);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await harness.GetAsync("ready")).Status);
    }

    [Fact]
    public async Task PostForm_ChunkedBodyOverLimit_413()
    {
        await using var harness = await ServerHarness.StartAsync();
        using var content = new StreamContent(new MemoryStream(Encoding.ASCII.GetBytes("query=" + new string('x', 2 * 1024 * 1024))));
        content.Headers.ContentType = new("application/x-www-form-urlencoded");
        using var request = new HttpRequestMessage(HttpMethod.Post, "loki/api/v1/query_range") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await harness.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task Get_LongQueryUnderSizeLimit_Answered()
    {
        // Grafana sends every query by GET: a 100 KB query, escaped to about 300 KB, fits the request line.
        await using var harness = await ServerHarness.StartAsync();
        var query = Selector + " |= \"" + new string('(', 100_000) + "\"";
        var (code, body) = await harness.GetAsync("loki/api/v1/query_range?query=" + Uri.EscapeDataString(query));
        Assert.True(code == HttpStatusCode.OK, body);
    }

    [Theory]
    [InlineData("count_over_time({app=\"api\"}[1m])", "step=1s&start=0&end=20000", "exceeded maximum resolution of 11000 points per timeseries")]
    [InlineData("count_over_time({app=\"api\"}[1m])", "step=3600&start=0&end=2599200", "the query time range exceeds the limit (query length: 722h0m0s, limit: 4w2d1h)")]
    [InlineData("{app=\"api\"}", "limit=5001", "max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)")]
    public async Task Get_OverQueryLimits_400(string query, string parameters, string message)
    {
        await using var harness = await ServerHarness.StartAsync();
        var (code, body) = await harness.GetAsync("loki/api/v1/query_range?query=" + Uri.EscapeDataString(query) + "&" + parameters);
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Contains(message, body, StringComparison.Ordinal);
    }

    private static string Repeat(string text, int count) => new StringBuilder(text.Length * count).Insert(0, text, count).ToString();
}
