using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Pipeline.Prometheus.RemoteWrite;
using Pipeline.Prometheus.RemoteWrite.Protocol;

namespace Pipeline.Prometheus.Tests.TestSupport;

/// <summary>A Kestrel remote-write receiver on 127.0.0.1 that decodes with the generated parser.</summary>
internal sealed class RemoteWriteReceiver : IAsyncDisposable
{
    private readonly TestWebServer _server;
    private int _calls;

    private RemoteWriteReceiver(TestWebServer server)
    {
        _server = server;
    }

    public Uri Endpoint => new(_server.BaseAddress, "api/v1/write");

    /// <summary>Status for the n-th call (0-based); 204 by default.</summary>
    public Func<int, int> Status { get; set; } = _ => 204;

    public ConcurrentQueue<(WriteRequest Request, Dictionary<string, string> Headers, int Status)> Calls { get; } = new();

    public IEnumerable<WriteRequest> Accepted => Calls.Where(c => c.Status is >= 200 and < 300).Select(c => c.Request);

    public static async Task<RemoteWriteReceiver> StartAsync()
    {
        RemoteWriteReceiver? receiver = null;
        var server = await TestWebServer.StartAsync(app => app.MapPost("/api/v1/write", async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var request = RemoteWriteEncoder.Decode(buffer.ToArray());
            var status = receiver!.Status(Interlocked.Increment(ref receiver._calls) - 1);
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            receiver.Calls.Enqueue((request, headers, status));
            context.Response.StatusCode = status;
            if (status >= 400)
            {
                await context.Response.WriteAsync("rejected by test");
            }
        }));
        receiver = new RemoteWriteReceiver(server);
        return receiver;
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Timed out waiting for " + what);
            }

            await Task.Delay(10);
        }
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
