using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Pipeline.Loki.Protocol;
using Pipeline.Model;

namespace Pipeline.Samples.Tests.EmbeddedApp;

/// <summary>An entry received by <see cref="PushEndpoint"/>, copied out of the decoded request.</summary>
internal sealed record ReceivedEntry(LabelSet Labels, string Line, IReadOnlyList<Label> Metadata);

/// <summary>A minimal Loki push endpoint on 127.0.0.1 (a free port) that decodes pushes with Pipeline.Loki's decoder.</summary>
internal sealed class PushEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SemaphoreSlim _pushed = new(0);

    private PushEndpoint(WebApplication app) => _app = app;

    public ConcurrentQueue<ReceivedEntry> Entries { get; } = new();

    public ConcurrentQueue<string> Errors { get; } = new();

    /// <summary>Completes once at least <paramref name="count"/> entries have arrived (woken by each push, no polling).</summary>
    public async Task WaitForEntriesAsync(int count, CancellationToken cancellationToken)
    {
        while (Entries.Count < count)
        {
            await _pushed.WaitAsync(cancellationToken);
        }
    }

    public Uri PushUrl => new(new Uri(_app.Urls.First()), "/loki/api/v1/push");

    public static async Task<PushEndpoint> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var endpoint = new PushEndpoint(builder.Build());
        endpoint._app.MapPost("/loki/api/v1/push", (Delegate)endpoint.HandleAsync);
        await endpoint._app.StartAsync();
        return endpoint;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task<IResult> HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        if (!PushRequestDecoder.TryDecode(body.ToArray(), context.Request.ContentType, context.Request.Headers.ContentEncoding, out var push, out var error))
        {
            Errors.Enqueue(error);
            _pushed.Release();
            return Results.BadRequest(error);
        }

        using (push)
        {
            foreach (var stream in push.Streams)
            {
                foreach (var entry in stream.Entries)
                {
                    Entries.Enqueue(new ReceivedEntry(stream.Labels, Encoding.UTF8.GetString(entry.Line.Span), [.. entry.StructuredMetadata]));
                }
            }
        }

        _pushed.Release();
        return Results.NoContent();
    }
}
