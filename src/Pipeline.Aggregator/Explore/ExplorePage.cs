using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Pipeline.Aggregator.Explore;

/// <summary>
/// The explore page at <c>/</c> and its assets at <c>/explore/{file}</c>: static files embedded in this assembly
/// (<c>Explore/wwwroot</c>), served from memory with an ETag. The page talks only to the aggregator's own Loki API.
/// </summary>
internal static class ExplorePage
{
    /// <summary>The path prefix of the page's assets.</summary>
    internal const string AssetPrefix = "/explore/";

    private const string ResourcePrefix = "Pipeline.Aggregator.Explore.wwwroot.";
    private const string IndexFile = "index.html";

    // Same-origin only: the page loads nothing from elsewhere and talks only to this server (websocket included).
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly Lazy<FrozenDictionary<string, Asset>> s_assets = new(LoadAssets);

    /// <summary>The embedded files by name (e.g. <c>explore.js</c>).</summary>
    internal static FrozenDictionary<string, Asset> Assets => s_assets.Value;

    /// <summary>Maps <c>GET /</c> to the page and <c>GET /explore/{file}</c> to its assets (404 for unknown files).</summary>
    /// <param name="app">The endpoints to add to.</param>
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", context => ServeAsync(context, IndexFile));
        app.MapGet(AssetPrefix + "{file}", context =>
        {
            var file = context.Request.RouteValues["file"] as string ?? string.Empty;
            return string.Equals(file, IndexFile, StringComparison.Ordinal) ? NotFoundAsync(context) : ServeAsync(context, file);
        });
    }

    private static Task ServeAsync(HttpContext context, string file)
    {
        if (!Assets.TryGetValue(file, out var asset))
        {
            return NotFoundAsync(context);
        }

        var headers = context.Response.Headers;
        headers.ETag = asset.ETag;
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        if (asset.IsHtml)
        {
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers["Referrer-Policy"] = "no-referrer";
        }

        if (string.Equals(context.Request.Headers.IfNoneMatch.ToString(), asset.ETag, StringComparison.Ordinal))
        {
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = asset.ContentType;
        context.Response.ContentLength = asset.Content.Length;
        return context.Response.Body.WriteAsync(asset.Content, context.RequestAborted).AsTask();
    }

    private static Task NotFoundAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync("404 page not found\n", context.RequestAborted);
    }

    private static FrozenDictionary<string, Asset> LoadAssets()
    {
        var assembly = typeof(ExplorePage).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(name)!;
            var content = new byte[stream.Length];
            stream.ReadExactly(content);
            var file = name[ResourcePrefix.Length..];
            var hash = Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 8));
            assets[file] = new Asset(content, ContentTypeOf(file), "\"" + hash + "\"");
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentTypeOf(string file) => Path.GetExtension(file) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".ico" => "image/x-icon",
        _ => "application/octet-stream",
    };

    /// <summary>One embedded file.</summary>
    /// <param name="Content">The bytes.</param>
    /// <param name="ContentType">The media type sent.</param>
    /// <param name="ETag">A quoted strong ETag from the content hash.</param>
    internal sealed record Asset(byte[] Content, string ContentType, string ETag)
    {
        /// <summary>Whether this is an HTML page (gets the security headers).</summary>
        public bool IsHtml => ContentType.StartsWith("text/html", StringComparison.Ordinal);
    }
}
