using System.Net;
using System.Text.RegularExpressions;
using Pipeline.Aggregator.Explore;
using Pipeline.Aggregator.Tests.Http;

namespace Pipeline.Aggregator.Tests.Explore;

public sealed partial class ExplorePageTests
{
    [Fact]
    public async Task Root_ServesPageAsHtmlWithSecurityHeaders()
    {
        await using var harness = await ServerHarness.StartAsync();
        using var response = await harness.Client.GetAsync("/");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType?.CharSet);
        Assert.StartsWith("<!doctype html>", body, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("id=\"query\"", body);
        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("connect-src 'self'", csp);
        Assert.Contains("script-src 'self'", csp);
        Assert.NotNull(response.Headers.ETag);
    }

    [Fact]
    public async Task Root_WithQueryString_ServesSamePage()
    {
        await using var harness = await ServerHarness.StartAsync();
        var (status, body) = await harness.GetAsync("/?query=" + Uri.EscapeDataString("{app=\"api\"}") + "&from=now-1h&to=now");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("<title>Explore", body);
    }

    [Theory]
    [InlineData("explore/explore.js", "text/javascript", "ExploreChart")]
    [InlineData("explore/chart.js", "text/javascript", "drawBars")]
    [InlineData("explore/explore.css", "text/css", ".row")]
    public async Task Asset_ServedWithContentType(string path, string mediaType, string expected)
    {
        await using var harness = await ServerHarness.StartAsync();
        using var response = await harness.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(expected, await response.Content.ReadAsStringAsync());
        Assert.Equal("nosniff", string.Join(",", response.Headers.GetValues("X-Content-Type-Options")));
    }

    [Theory]
    [InlineData("explore/missing.js")]
    [InlineData("explore/index.html")]
    [InlineData("explore/")]
    [InlineData("explore/..%2Fexplore.js")]
    [InlineData("index.html")]
    public async Task UnknownAsset_404(string path)
    {
        await using var harness = await ServerHarness.StartAsync();
        var (status, _) = await harness.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, status);
    }

    [Fact]
    public async Task Asset_IfNoneMatchCurrentETag_304()
    {
        await using var harness = await ServerHarness.StartAsync();
        using var first = await harness.Client.GetAsync("explore/explore.js");
        var etag = first.Headers.ETag!;
        using var request = new HttpRequestMessage(HttpMethod.Get, "explore/explore.js");
        request.Headers.IfNoneMatch.Add(etag);
        using var second = await harness.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
    }

    [Fact]
    public void Assets_AreEmbedded()
    {
        Assert.Equal(["chart.js", "explore.css", "explore.js", "index.html"], ExplorePage.Assets.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Page_ReferencesOnlySameOriginUrls()
    {
        await using var harness = await ServerHarness.StartAsync();
        foreach (var file in ExplorePage.Assets.Keys)
        {
            var path = file == "index.html" ? "/" : ExplorePage.AssetPrefix + file;
            var (status, body) = await harness.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, status);

            // No absolute URL of another host, no protocol-relative URL, no @import from elsewhere.
            foreach (Match match in AbsoluteUrl().Matches(body))
            {
                Assert.Fail($"{file} references an absolute URL: {match.Value}");
            }

            Assert.DoesNotMatch(ProtocolRelativeUrl(), body);
        }

        // Every src/href of the page is a path on this server, and it is served (or an inline data: URL).
        var (_, page) = await harness.GetAsync("/");
        var references = Reference().Matches(page).Select(m => m.Groups["url"].Value).Where(url => !url.StartsWith("data:", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(references);
        foreach (var url in references)
        {
            Assert.StartsWith("/", url);
            var (status, _) = await harness.GetAsync(url);
            Assert.True(status == HttpStatusCode.OK, $"{url} answered {status}");
        }
    }

    // A scheme followed by a host; the page builds its websocket URL from location.host ('ws://' + location.host).
    [GeneratedRegex(@"\b(?:https?|wss?)://[A-Za-z0-9\[]", RegexOptions.IgnoreCase)]
    private static partial Regex AbsoluteUrl();

    [GeneratedRegex(@"(?:src|href)\s*=\s*[""']//|url\(\s*[""']?//|@import", RegexOptions.IgnoreCase)]
    private static partial Regex ProtocolRelativeUrl();

    [GeneratedRegex(@"(?:src|href)\s*=\s*""(?<url>[^""]+)""", RegexOptions.IgnoreCase)]
    private static partial Regex Reference();
}
