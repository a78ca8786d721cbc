using Microsoft.AspNetCore.Http;
using Pipeline.Loki.Receiver;

namespace Pipeline.Aggregator.Http;

/// <summary>
/// <c>POST /loki/api/v1/push</c>: 503 until the WAL is replayed, a bound on pushes in flight (further pushes wait, their
/// bodies left in the socket), then the pipeline's push receiver, which answers once the ingester has stored the entries.
/// </summary>
internal sealed class PushEndpoint : IDisposable
{
    private readonly LokiPushReceiver _receiver;
    private readonly SemaphoreSlim _slots;
    private readonly Func<bool> _ready;

    public PushEndpoint(LokiPushReceiver receiver, AggregatorServerOptions options, Func<bool> ready)
    {
        _receiver = receiver;
        _ready = ready;
        _slots = new SemaphoreSlim(options.MaxConcurrentPushes, options.MaxConcurrentPushes);
    }

    public async Task HandleAsync(HttpContext context)
    {
        if (!_ready())
        {
            await AggregatorServer.NotReadyAsync(context).ConfigureAwait(false);
            return;
        }

        await _slots.WaitAsync(context.RequestAborted).ConfigureAwait(false);
        try
        {
            await _receiver.HandleAsync(context).ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
        }
    }

    public void Dispose() => _slots.Dispose();
}
