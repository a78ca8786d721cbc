using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Snappier;
using Generated = Pipeline.Loki.Protocol.Generated;

namespace Pipeline.Loki.Tests.Push;

/// <summary>One push the fake Loki received.</summary>
internal sealed record ReceivedPush(int Index, string? Tenant, string? Authorization, IReadOnlyDictionary<string, string> Headers, Generated.PushRequest Request)
{
    public IEnumerable<string> Lines => Request.Streams.SelectMany(s => s.Entries).Select(e => e.Line);
}

/// <summary>A Kestrel endpoint on 127.0.0.1 that decodes Loki pushes with the generated parser and answers as told.</summary>
internal sealed class FakeLoki : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SemaphoreSlim _arrived = new(0);
    private int _count;
    private int _started;

    private FakeLoki(WebApplication app) => _app = app;

    /// <summary>Decides the answer to request number <c>index</c> (0-based): a status code, or a task that never ends.</summary>
    public Func<int, HttpContext, Task<int>> Respond { get; set; } = (_, _) => Task.FromResult(204);

    public ConcurrentQueue<ReceivedPush> Received { get; } = new();

    public Uri PushUrl { get; private set; } = null!;

    public int Count => Volatile.Read(ref _count);

    public static async Task<FakeLoki> StartAsync(int port = 0, X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, port, listen =>
        {
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        }));
        var app = builder.Build();
        var loki = new FakeLoki(app);
        app.MapPost("/loki/api/v1/push", loki.HandleAsync);
        await app.StartAsync();
        var address = app.Urls.First();
        loki.PushUrl = new Uri(new Uri(address), "/loki/api/v1/push");
        return loki;
    }

    /// <summary>Waits on the arrival signal for at most <paramref name="wait"/> (one step of bounded polling).</summary>
    public Task<bool> WaitSignalAsync(TimeSpan wait) => _arrived.WaitAsync(wait);

    /// <summary>Waits (up to 30 s) until at least <paramref name="count"/> requests have arrived.</summary>
    public async Task WaitForRequestsAsync(int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Count < count)
        {
            var left = deadline - DateTime.UtcNow;
            Assert.True(left > TimeSpan.Zero, $"Timed out waiting for {count} requests; got {Count}.");
            await _arrived.WaitAsync(left);
        }
    }

    /// <summary>Whether a request arrives within <paramref name="wait"/> (for checking that nothing is sent yet).</summary>
    public async Task<bool> AnotherArrivesWithinAsync(int count, TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        while (Count < count)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !await _arrived.WaitAsync(left))
            {
                return Count >= count;
            }
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var index = Interlocked.Increment(ref _started) - 1;
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        Generated.PushRequest request;
        if (context.Request.ContentType == "application/x-protobuf")
        {
            request = Generated.PushRequest.Parser.ParseFrom(Snappy.DecompressToArray(body.ToArray()));
        }
        else
        {
            using var decoded = Pipeline.Loki.Protocol.PushRequestDecoder.Decode(body.ToArray(), context.Request.ContentType, context.Request.Headers.ContentEncoding);
            request = new Generated.PushRequest();
            foreach (var stream in decoded.Streams)
            {
                var adapter = new Generated.StreamAdapter { Labels = stream.Labels.ToString() };
                foreach (var entry in stream.Entries)
                {
                    adapter.Entries.Add(new Generated.EntryAdapter { Line = System.Text.Encoding.UTF8.GetString(entry.Line.Span) });
                }

                request.Streams.Add(adapter);
            }
        }

        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        Received.Enqueue(new ReceivedPush(index, headers.GetValueOrDefault("X-Scope-OrgID"), headers.GetValueOrDefault("Authorization"), headers, request));
        Interlocked.Increment(ref _count);
        _arrived.Release();
        var status = await Respond(index, context);
        context.Response.StatusCode = status;
        if (status >= 400)
        {
            await context.Response.WriteAsync($"error {status}: " + new string('x', 5000));
        }
    }
}
