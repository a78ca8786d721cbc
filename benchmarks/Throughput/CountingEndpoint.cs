using System.Buffers;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Pipeline.Loki.Protocol;

namespace Pipeline.Throughput;

/// <summary>
/// A Loki push endpoint on 127.0.0.1 that decodes every body (so a broken push fails the run), counts the entries and
/// notes when the first push arrived; it can answer 503 for a while, as an endpoint that is down. It runs in the
/// benchmark's process, not the agent's, so none of its work counts against the agent.
/// </summary>
internal sealed class CountingEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _entries;
    private long _pushes;
    private long _refused;
    private long _firstPushTicks = -1;
    private long _lastPushTicks;
    private long _downUntilTicks;

    private CountingEndpoint(WebApplication app) => _app = app;

    public string PushUrl => $"{_app.Urls.First()}/loki/api/v1/push";

    public long Entries => Interlocked.Read(ref _entries);

    public long Pushes => Interlocked.Read(ref _pushes);

    public long Refused => Interlocked.Read(ref _refused);

    public string? Error { get; private set; }

    /// <summary>Stopwatch ticks (of <see cref="Now"/>) when the first push arrived, or -1.</summary>
    public long FirstPushTicks => Interlocked.Read(ref _firstPushTicks);

    /// <summary>Stopwatch ticks (of <see cref="Now"/>) when the last accepted push arrived.</summary>
    public long LastPushTicks => Interlocked.Read(ref _lastPushTicks);

    public long Now => _clock.ElapsedTicks;

    public static async Task<CountingEndpoint> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Limits.MaxRequestBodySize = 64 << 20;
        });
        var endpoint = new CountingEndpoint(builder.Build());
        endpoint._app.MapPost("/loki/api/v1/push", (Delegate)endpoint.HandleAsync);
        await endpoint._app.StartAsync();
        return endpoint;
    }

    /// <summary>Starts over for the next run: counts cleared, up.</summary>
    public void Reset()
    {
        Interlocked.Exchange(ref _entries, 0);
        Interlocked.Exchange(ref _pushes, 0);
        Interlocked.Exchange(ref _refused, 0);
        Interlocked.Exchange(ref _firstPushTicks, -1);
        Interlocked.Exchange(ref _lastPushTicks, 0);
        Interlocked.Exchange(ref _downUntilTicks, 0);
        Error = null;
    }

    /// <summary>Answers 503 to every push from the first one on, for <paramref name="outage"/>.</summary>
    public void GoDownAtFirstPush(TimeSpan outage) => Interlocked.Exchange(ref _downUntilTicks, -(long)(outage.TotalSeconds * Stopwatch.Frequency));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task<IResult> HandleAsync(HttpContext context)
    {
        var now = Now;
        Interlocked.CompareExchange(ref _firstPushTicks, now, -1);
        var down = Interlocked.Read(ref _downUntilTicks);
        if (down < 0)
        {
            // The outage starts with the first push.
            Interlocked.CompareExchange(ref _downUntilTicks, now - down, down);
            down = Interlocked.Read(ref _downUntilTicks);
        }

        var length = (int)(context.Request.ContentLength ?? 0);
        var body = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1 << 16));
        var read = 0;
        try
        {
            while (true)
            {
                if (read == body.Length)
                {
                    var grown = ArrayPool<byte>.Shared.Rent(body.Length * 2);
                    body.AsSpan(0, read).CopyTo(grown);
                    ArrayPool<byte>.Shared.Return(body);
                    body = grown;
                }

                var n = await context.Request.Body.ReadAsync(body.AsMemory(read), context.RequestAborted);
                if (n == 0)
                {
                    break;
                }

                read += n;
            }

            if (now < down)
            {
                Interlocked.Increment(ref _refused);
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable);
            }

            if (!PushRequestDecoder.TryDecode(body.AsSpan(0, read), context.Request.ContentType, context.Request.Headers.ContentEncoding, out var push, out var error))
            {
                Error ??= error;
                return Results.BadRequest(error);
            }

            using (push)
            {
                Interlocked.Add(ref _entries, push.EntryCount);
            }

            Interlocked.Increment(ref _pushes);
            Interlocked.Exchange(ref _lastPushTicks, Now);
            return Results.NoContent();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }
}
