using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Pipeline.Aggregator.Http;
using static Pipeline.Aggregator.Tests.TestData;

namespace Pipeline.Aggregator.Tests.Http;

public sealed class PushApiTests
{
    private const long Second = 1_000_000_000;

    private static async Task<string[]> LinesAsync(ServerHarness harness, string selector, string? tenant = null)
    {
        var json = await harness.GetJsonAsync("loki/api/v1/query_range?direction=forward&query=" + Uri.EscapeDataString(selector), tenant);
        return json.GetProperty("data").GetProperty("result").EnumerateArray()
            .SelectMany(s => s.GetProperty("values").EnumerateArray().Select(v => v[0].GetString() + " " + v[1].GetString()))
            .ToArray();
    }

    [Fact]
    public async Task Push_Json_ThenQueryBack()
    {
        await using var harness = await ServerHarness.StartAsync();
        await harness.PushOkAsync("{app=\"api\"}", (StartNs - (2 * Second), "first"), (StartNs - Second, "second"));
        Assert.Equal([$"{StartNs - (2 * Second)} first", $"{StartNs - Second} second"], await LinesAsync(harness, "{app=\"api\"}"));
    }

    [Fact]
    public async Task Push_ProtobufSnappy_ThenQueryBack()
    {
        await using var harness = await ServerHarness.StartAsync();
        using var response = await harness.PushProtobufAsync(ServerHarness.ProtobufBody(("{app=\"proto\", env=\"dev\"}", StartNs - Second, "from protobuf")));
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal([$"{StartNs - Second} from protobuf"], await LinesAsync(harness, "{app=\"proto\"}"));
    }

    [Fact]
    public async Task Push_GzipJson_ThenQueryBack()
    {
        await using var harness = await ServerHarness.StartAsync();
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(ServerHarness.JsonBody("{app=\"gz\"}", (StartNs - Second, "zipped"))));
        }

        var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add("gzip");
        using var response = await harness.Client.PostAsync("loki/api/v1/push", content);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal([$"{StartNs - Second} zipped"], await LinesAsync(harness, "{app=\"gz\"}"));
    }

    public static TheoryData<string, string, int, string> Invalid => new()
    {
        { "{app=\"a\"}", "LONG", 400, "Max entry size '262144' bytes exceeded for stream '{app=\"a\"}' while adding an entry with length '262145' bytes" },
        { "{a=\"1\",b=\"1\",c=\"1\",d=\"1\",e=\"1\",f=\"1\",g=\"1\",h=\"1\",i=\"1\",j=\"1\",k=\"1\",l=\"1\",m=\"1\",n=\"1\",o=\"1\",p=\"1\"}", "x", 400, "has 16 label names; limit 15" },
        { "{" + new string('n', 1025) + "=\"v\"}", "x", 400, "has label name too long: '" + new string('n', 1025) + "'" },
        { "{app=\"" + new string('v', 2049) + "\"}", "x", 400, "has label value too long: '" + new string('v', 2049) + "'" },
        { "{app=\"a\"}", "OLD", 400, "entry for stream '{app=\"a\"}' has timestamp too old: 2026-11-18T10:00:00Z, oldest acceptable timestamp is: 2026-11-19T10:00:00Z" },
        { "{app=\"a\"}", "NEW", 400, "entry for stream '{app=\"a\"}' has timestamp too new: 2026-11-26T10:11:00Z" },
        { "{app=\"a\"}", "BADJSON", 400, "timestamp is a JSON number" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task Push_Invalid_RejectedWithLokiStatusAndMessage(string labels, string kind, int status, string message)
    {
        await using var harness = await ServerHarness.StartAsync();
        var ts = kind switch
        {
            "OLD" => StartNs - (192L * 3600 * Second),
            "NEW" => StartNs + (11L * 60 * Second),
            _ => StartNs - Second,
        };
        var line = kind == "LONG" ? new string('x', 256 * 1024 + 1) : "line";
        var body = kind == "BADJSON"
            ? "{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":[[1,\"x\"]]}]}"
            : ServerHarness.JsonBody(labels, (ts, line));
        using var response = await harness.PushJsonAsync(body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Contains(message, text);
    }

    [Fact]
    public async Task Push_PartlyInvalid_StoresValidEntriesAndListsRefused()
    {
        await using var harness = await ServerHarness.StartAsync();
        var old = StartNs - (200L * 3600 * Second);
        using var response = await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"p\"}", (StartNs - Second, "good"), (old, "too old"), (StartNs - 2, "also good")));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("has timestamp too old", text);
        Assert.Contains("total ignored: 1 out of 3", text);
        Assert.Equal([$"{StartNs - Second} good", $"{StartNs - 2} also good"], await LinesAsync(harness, "{app=\"p\"}"));
    }

    [Fact]
    public async Task Push_TenantRateLimit_429WholeRequestThenRefillsWithTime()
    {
        await using var harness = await ServerHarness.StartAsync(o => o.Limits = new() { IngestionRateBytes = 100, IngestionBurstBytes = 100 });
        var line = new string('a', 60);
        await harness.PushOkAsync("{app=\"r\"}", (StartNs - 3, line));
        using (var limited = await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"r\"}", (StartNs - 2, line))))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
            Assert.Contains("Ingestion rate limit exceeded for user fake (limit: 100 bytes/sec) while attempting to ingest '1' lines totaling '60' bytes", await limited.Content.ReadAsStringAsync());
        }

        harness.Clock.Advance(TimeSpan.FromSeconds(1));
        await harness.PushOkAsync("{app=\"r\"}", (StartNs - 1, line));
        Assert.Equal(2, (await LinesAsync(harness, "{app=\"r\"}")).Length);
    }

    [Fact]
    public async Task Push_TenantRateLimit_ChargesValidatedBytes_AsLoki()
    {
        // 100 bytes a second: the request's 60 valid bytes fit; its 200-byte line is refused by validation (too long), and
        // is not charged — Loki's distributor rate-limits the validated size, not what was decoded.
        await using var harness = await ServerHarness.StartAsync(o => o.Limits = new() { IngestionRateBytes = 100, IngestionBurstBytes = 100, MaxLineSize = 100 });
        using var response = await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"v\"}", (StartNs - 2, new string('a', 60)), (StartNs - 1, new string('b', 200))));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = await response.Content.ReadAsStringAsync();
        Assert.Contains("Max entry size '100' bytes exceeded", message);
        Assert.DoesNotContain("Ingestion rate limit exceeded", message);
        Assert.Single(await LinesAsync(harness, "{app=\"v\"}"));

        // The bucket holds the 40 bytes left: a request of 60 valid bytes is refused whole, and its message counts them.
        using var limited = await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"v\"}", (StartNs, new string('c', 60)), (StartNs + 1, new string('d', 200))));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Contains("while attempting to ingest '1' lines totaling '60' bytes", await limited.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Push_PerStreamRateLimit_429ForThatStreamOnly()
    {
        await using var harness = await ServerHarness.StartAsync(o => o.Limits = new() { PerStreamRateBytes = 10, PerStreamBurstBytes = 10 });
        var body = "{\"streams\":[" +
            "{\"stream\":{\"app\":\"big\"},\"values\":[[\"" + (StartNs - 1) + "\",\"0123456789abc\"]]}," +
            "{\"stream\":{\"app\":\"small\"},\"values\":[[\"" + (StartNs - 1) + "\",\"ok\"]]}]}";
        using var response = await harness.PushJsonAsync(body);
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Contains("Per stream rate limit exceeded (limit: 10B/sec) while attempting to ingest for stream '{app=\"big\"}' totaling 13B", await response.Content.ReadAsStringAsync());
        Assert.Single(await LinesAsync(harness, "{app=\"small\"}"));
        Assert.Empty(await LinesAsync(harness, "{app=\"big\"}"));
    }

    [Fact]
    public async Task Push_MaxStreams_429ForNewStreams()
    {
        await using var harness = await ServerHarness.StartAsync(o => o.Limits = new() { MaxStreamsPerTenant = 1 });
        await harness.PushOkAsync("{app=\"one\"}", (StartNs - 1, "x"));
        using var response = await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"two\"}", (StartNs - 1, "x")));
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Contains("Maximum active stream limit exceeded when trying to create stream {app=\"two\"}", await response.Content.ReadAsStringAsync());
        await harness.PushOkAsync("{app=\"one\"}", (StartNs - 2, "y"));
    }

    [Fact]
    public async Task Push_EightConcurrentClients_AllStored()
    {
        await using var harness = await ServerHarness.StartAsync(o => o.MaxConcurrentPushes = 3);
        var clients = Enumerable.Range(0, 8).Select(c => Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                var body = ServerHarness.ProtobufBody(
                    ($"{{client=\"{c}\"}}", StartNs - 1000 + i, $"c{c} line {i}"),
                    ("{shared=\"yes\"}", StartNs - 1000 + (c * 100) + i, $"shared c{c} {i}"));
                using var response = await harness.PushProtobufAsync(body);
                Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            }
        })).ToArray();
        await Task.WhenAll(clients);
        var stats = await harness.GetJsonAsync("loki/api/v1/index/stats?query=" + Uri.EscapeDataString("{client=~\".+\"}"));
        Assert.Equal(160, stats.GetProperty("entries").GetInt64());
        var shared = await harness.GetJsonAsync("loki/api/v1/index/stats?query=" + Uri.EscapeDataString("{shared=\"yes\"}"));
        Assert.Equal(160, shared.GetProperty("entries").GetInt64());
    }

    [Fact]
    public async Task MultiTenant_MissingOrgId401_TenantsIsolated()
    {
        await using var harness = await ServerHarness.StartAsync(o => o.MultiTenant = true);
        using (var anonymous = await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"a\"}", (StartNs - 1, "x"))))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Contains("no org id", await anonymous.Content.ReadAsStringAsync());
        }

        using (var bad = await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"a\"}", (StartNs - 1, "x")), "../etc"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        using (var a = await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"a\"}", (StartNs - 1, "tenant a")), "team-a"))
        {
            Assert.Equal(HttpStatusCode.NoContent, a.StatusCode);
        }

        using (var b = await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"b\"}", (StartNs - 1, "tenant b")), "team-b"))
        {
            Assert.Equal(HttpStatusCode.NoContent, b.StatusCode);
        }

        Assert.Equal([$"{StartNs - 1} tenant a"], await LinesAsync(harness, "{app=~\".+\"}", "team-a"));
        Assert.Equal([$"{StartNs - 1} tenant b"], await LinesAsync(harness, "{app=~\".+\"}", "team-b"));
        var labels = await harness.GetJsonAsync("loki/api/v1/label/app/values", "team-a");
        Assert.Equal("{\"status\":\"success\",\"data\":[\"a\"]}", ServerHarness.WithoutStats(labels));
        var (status, _) = await harness.GetAsync("loki/api/v1/labels");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task Auth_NoCredentials401_OtherTenant403_ValidCredentialsMapToTenant()
    {
        await using var harness = await ServerHarness.StartAsync(o =>
        {
            o.BearerTokens["secret-a"] = "team-a";
            o.BasicAuthUsers["bob"] = new BasicAuthUser("pw", "team-b");
        });
        var body = ServerHarness.JsonBody("{app=\"x\"}", (StartNs - 1, "auth"));
        using (var none = await harness.PushJsonAsync(body))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        }

        using (var wrong = await harness.PushJsonAsync(body, configure: r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "nope")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        using (var other = await harness.PushJsonAsync(body, "team-b", r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "secret-a")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        }

        using (var ok = await harness.PushJsonAsync(body, configure: r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "secret-a")))
        {
            Assert.Equal(HttpStatusCode.NoContent, ok.StatusCode);
        }

        using var query = new HttpRequestMessage(HttpMethod.Get, "loki/api/v1/labels");
        query.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("bob:pw")));
        using var response = await harness.Client.SendAsync(query);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"data\":[]", await response.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await harness.GetAsync("loki/api/v1/labels")).Status);
    }

    [Fact]
    public async Task Push_BodyTooLarge_413_CountedAsRequestBodyTooLarge()
    {
        await using var harness = await ServerHarness.StartAsync(o => o.MaxRequestBodyBytes = 1024);
        using var response = await harness.PushJsonAsync(ServerHarness.JsonBody("{app=\"x\"}", (StartNs - 1, new string('x', 2000))));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("request body too large", await response.Content.ReadAsStringAsync());

        // As Loki does: the body's bytes under loki_discarded_bytes_total{reason="request_body_too_large"}.
        var (_, metrics) = await harness.GetAsync("metrics");
        var counted = System.Text.RegularExpressions.Regex.Match(metrics, "loki_discarded_bytes_total\\{reason=\"request_body_too_large\",tenant=\"fake\"\\} (\\d+)");
        Assert.True(counted.Success, metrics);
        Assert.True(long.Parse(counted.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 2000);
    }

    [Fact]
    public async Task Restart_SameDataDirectory_DataStillQueryable()
    {
        using var dir = new TempDir();
        await using (var first = await ServerHarness.StartAsync(dir: dir))
        {
            await first.PushOkAsync("{app=\"keep\"}", (StartNs - 5, "before restart"));
        }

        await using (var second = await ServerHarness.StartAsync(o => o.FlushOnShutdown = false, dir: dir))
        {
            Assert.Equal([$"{StartNs - 5} before restart"], await LinesAsync(second, "{app=\"keep\"}"));
            await second.PushOkAsync("{app=\"keep\"}", (StartNs - 4, "after restart"));
        }

        // The second server stopped without flushing: the WAL is replayed.
        await using var third = await ServerHarness.StartAsync(dir: dir);
        Assert.Equal([$"{StartNs - 5} before restart", $"{StartNs - 4} after restart"], await LinesAsync(third, "{app=\"keep\"}"));
    }
}
