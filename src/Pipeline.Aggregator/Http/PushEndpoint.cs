using System.Buffers;
using Microsoft.AspNetCore.Http;
using Pipeline.Aggregator.Distributor;
using Pipeline.Loki.Protocol;

namespace Pipeline.Aggregator.Http;

/// <summary>
/// <c>POST /loki/api/v1/push</c>: tenant and credentials, body limit (413), a bound on pushes in flight (further pushes
/// wait, their bodies left in the socket), decoding (400 with the decoder's message), then the distributor.
/// </summary>
internal sealed class PushEndpoint : IDisposable
{
    private readonly PushDistributor _distributor;
    private readonly TenantResolver _tenants;
    private readonly AggregatorServerOptions _options;
    private readonly PushDecoderOptions _decoderOptions;
    private readonly SemaphoreSlim _slots;
    private readonly Func<bool> _ready;

    public PushEndpoint(PushDistributor distributor, TenantResolver tenants, AggregatorServerOptions options, Func<bool> ready)
    {
        _distributor = distributor;
        _tenants = tenants;
        _options = options;
        _ready = ready;
        _slots = new SemaphoreSlim(options.MaxConcurrentPushes, options.MaxConcurrentPushes);
        _decoderOptions = new PushDecoderOptions { MaxDecompressedBytes = (int)Math.Min(int.MaxValue, options.MaxDecompressedBodyBytes) };
    }

    public async Task HandleAsync(HttpContext context)
    {
        if (!_tenants.TryResolve(context, out var tenant, out var status, out var error))
        {
            await QueryApi.WriteErrorAsync(context, status, error).ConfigureAwait(false);
            return;
        }

        if (!_ready())
        {
            await QueryApi.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "Ingester not ready: replaying the WAL").ConfigureAwait(false);
            return;
        }

        var declared = context.Request.ContentLength;
        if (declared > _options.MaxRequestBodyBytes)
        {
            await TooLargeAsync(context, tenant, declared.Value).ConfigureAwait(false);
            return;
        }

        var aborted = context.RequestAborted;
        await _slots.WaitAsync(aborted).ConfigureAwait(false);
        byte[]? body = null;
        try
        {
            var limit = (int)Math.Min(_options.MaxRequestBodyBytes, Array.MaxLength - 1);
            body = ArrayPool<byte>.Shared.Rent((int)Math.Min(declared ?? 64 * 1024, limit) + 1);
            var length = 0;
            while (true)
            {
                if (length == body.Length)
                {
                    if (length > limit)
                    {
                        await TooLargeAsync(context, tenant, length).ConfigureAwait(false);
                        return;
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)body.Length * 2, limit + 1L));
                    body.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(body);
                    body = bigger;
                }

                var read = await context.Request.Body.ReadAsync(body.AsMemory(length), aborted).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > limit)
                {
                    await TooLargeAsync(context, tenant, length).ConfigureAwait(false);
                    return;
                }
            }

            if (!PushRequestDecoder.TryDecode(body.AsSpan(0, length), context.Request.ContentType, context.Request.Headers.ContentEncoding.ToString(), out var push, out error, _decoderOptions))
            {
                var tooLarge = error.Contains("more than the maximum", StringComparison.Ordinal);
                await QueryApi.WriteErrorAsync(context, tooLarge ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest, error).ConfigureAwait(false);
                return;
            }

            using (push)
            {
                if (push.EntryCount == 0 && push.Streams.Count == 0)
                {
                    context.Response.StatusCode = StatusCodes.Status204NoContent;
                    return;
                }

                var outcome = await _distributor.PushAsync(tenant, push, aborted).ConfigureAwait(false);
                if (outcome.StatusCode == StatusCodes.Status204NoContent)
                {
                    context.Response.StatusCode = StatusCodes.Status204NoContent;
                    return;
                }

                await QueryApi.WriteErrorAsync(context, outcome.StatusCode, outcome.Message).ConfigureAwait(false);
            }
        }
        finally
        {
            if (body is not null)
            {
                ArrayPool<byte>.Shared.Return(body);
            }

            _slots.Release();
        }
    }

    public void Dispose() => _slots.Dispose();

    private Task TooLargeAsync(HttpContext context, string tenant, long length)
    {
        _distributor.Discard(tenant, DiscardReason.RequestBodyTooLarge, 0, length);

        // The rest of the body is not read: close the connection rather than drain it.
        context.Response.Headers.Connection = "close";
        return QueryApi.WriteErrorAsync(context, StatusCodes.Status413PayloadTooLarge, $"request body too large: {length} bytes, limit: {_options.MaxRequestBodyBytes} bytes");
    }
}
