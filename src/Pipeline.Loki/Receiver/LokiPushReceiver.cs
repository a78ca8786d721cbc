using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Loki.Protocol;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Loki.Receiver;

/// <summary>
/// A source that accepts Loki pushes (<c>POST /loki/api/v1/push</c>: snappy protobuf, JSON, gzip JSON) and turns each
/// request's entries into pipeline entries. A request is answered only once every sink has acknowledged or refused each
/// of its entries: 204 when all were delivered, otherwise Loki's partial-acceptance answer (400, 429 or 5xx listing what
/// was refused), so a client's retry covers exactly what was not stored — at-least-once, end to end.
/// </summary>
/// <remarks>
/// <para>Mount <see cref="HandleAsync"/> in an ASP.NET app (<c>app.MapPost("/loki/api/v1/push", receiver.HandleAsync)</c>),
/// or set <see cref="LokiPushReceiverOptions.ListenAddress"/> for a listener of its own (Promtail's
/// <c>loki_push_api</c>). Until the pipeline runs the source, and after it stops it, requests are answered 503.</para>
/// <para>A body is read from the request's <c>PipeReader</c> into a pooled buffer as its bytes arrive (never sized by the
/// length the client claims), its size limit enforced while reading; decoding checks every length and caps the
/// decompressed size. When the pipeline is full the request waits (backpressure) and is answered 503 after
/// <see cref="LokiPushReceiverOptions.HandOffTimeout"/> with nothing stored.</para>
/// </remarks>
#pragma warning disable CA1001 // The gate's SemaphoreSlim never creates a wait handle, so it holds nothing to dispose.
public sealed partial class LokiPushReceiver : ILogSource, IDrainAware
#pragma warning restore CA1001
{
    private const int MaxListedErrors = 100;
    private const int MaxCachedLabelSets = 16 * 1024;

    private readonly LokiPushReceiverOptions _options;
    private readonly PushDecoderOptions _decoderOptions;
    private readonly Label[] _extraLabels;
    private readonly ConcurrentDictionary<LabelSet, LabelSet> _withExtraLabels = new();
    private readonly SemaphoreSlim _emitGate = new(1, 1);
    private AckToken[] _tokens = [];
    private readonly TaskCompletionSource<Uri?> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile SourceContext? _context;
    private volatile bool _accepting;
    private WebApplication? _app;

    /// <summary>Creates a receiver.</summary>
    /// <param name="options">Settings; defaults when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public LokiPushReceiver(LokiPushReceiverOptions? options = null)
    {
        _options = options ?? new LokiPushReceiverOptions();
        _options.Validate();
        _decoderOptions = new PushDecoderOptions { MaxDecompressedBytes = _options.MaxDecompressedBodyBytes };
        _extraLabels = [.. _options.Labels.Select(l => new Label(l.Key, l.Value))];
    }

    /// <summary>Whether the pipeline runs the receiver and it accepts pushes.</summary>
    public bool IsAccepting => _accepting;

    /// <summary>
    /// Completes once the receiver accepts pushes, with the address of its own listener (with the real port when 0 was
    /// asked), or <see langword="null"/> when it has none.
    /// </summary>
    public Task<Uri?> Started => _started.Task;

    /// <inheritdoc/>
    public async Task RunAsync(SourceContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_options.ListenAddress is { } listen)
        {
            _app = await StartListenerAsync(listen, cancellationToken).ConfigureAwait(false);
        }

        _context = context;
        _accepting = true;
        var address = _app?.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        _started.TrySetResult(address is null ? null : new Uri(address.EndsWith('/') ? address : address + "/"));
        if (address is not null)
        {
            LogListening(context.Logger, address);
        }

        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (cancellationToken.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), stopped))
        {
            await stopped.Task.ConfigureAwait(false);
        }

        // No new request emits once the gate is ours: requests that are waiting for their acknowledgements still get
        // their answer (the listener stays up until the pipeline has drained).
        _accepting = false;
        await _emitGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        _emitGate.Release();
    }

    /// <inheritdoc/>
    public async Task OnDrainedAsync(CancellationToken cancellationToken)
    {
        _accepting = false;
        _started.TrySetResult(null);
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync(cancellationToken).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Handles one push request: decodes it, hands its entries on and answers once every sink has settled them.</summary>
    /// <param name="context">The HTTP request.</param>
    /// <returns>A task that completes when the request is answered.</returns>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var source = _context;
        if (source is null || !_accepting)
        {
            await WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "not ready: the push receiver is not running").ConfigureAwait(false);
            return;
        }

        var tenant = _options.ResolveTenant(context);
        if (tenant.IsRefused)
        {
            await WriteErrorAsync(context, tenant.StatusCode, tenant.Error!).ConfigureAwait(false);
            return;
        }

        if (context.Request.ContentLength > _options.MaxRequestBodyBytes)
        {
            await TooLargeAsync(context, tenant.Tenant, context.Request.ContentLength.Value).ConfigureAwait(false);
            return;
        }

        var aborted = context.RequestAborted;
        var body = await PushBodyReader.ReadAsync(context.Request.BodyReader, (int)_options.MaxRequestBodyBytes, aborted).ConfigureAwait(false);
        if (body.TooLarge)
        {
            await TooLargeAsync(context, tenant.Tenant, body.Length).ConfigureAwait(false);
            return;
        }

        DecodedPush? push;
        string? error;
        try
        {
            if (!PushRequestDecoder.TryDecode(body.Span, context.Request.ContentType, context.Request.Headers.ContentEncoding.ToString(), out push, out error, _decoderOptions))
            {
                source.Metrics.AddErrors();
                var tooLarge = error.Contains("more than the maximum", StringComparison.Ordinal);
                if (tooLarge)
                {
                    _options.OnRequestTooLarge?.Invoke(tenant.Tenant, body.Length);
                }

                await WriteErrorAsync(context, tooLarge ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest, error).ConfigureAwait(false);
                return;
            }
        }
        finally
        {
            body.Dispose();
        }

        AckTracker tracker;
        int count;
        using (push)
        {
            count = push.EntryCount;
            if (count == 0)
            {
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return;
            }

            // Sizes first, so stages deciding on a whole request or stream see it before its last entry arrives.
            long lineBytes = 0;
            var incoming = _options.UseIncomingTimestamp;
            var streams = new Dictionary<LabelSet, PushedStream>(push.Streams.Count);
            foreach (var stream in push.Streams)
            {
                var labels = WithExtraLabels(stream.Labels);
                if (!streams.TryGetValue(labels, out var share))
                {
                    share = new PushedStream(labels);
                    streams[labels] = share;
                }

                long bytes = 0;
                var entries = stream.EntrySpan;
                var list = share.EntryList;
                list.EnsureCapacity(list.Count + entries.Length);
                var now = incoming ? 0 : (source.TimeProvider.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
                foreach (var entry in entries)
                {
                    var length = entry.Line.Length;
                    bytes += length;
                    var size = length;
                    if (entry.StructuredMetadata.Count > 0)
                    {
                        foreach (var pair in entry.StructuredMetadata)
                        {
                            size += System.Text.Encoding.UTF8.GetByteCount(pair.Name) + System.Text.Encoding.UTF8.GetByteCount(pair.Value);
                        }
                    }

                    list.Add(new PushedEntry(incoming ? entry.Timestamp : now, length, size));
                }

                share.EntryCount += entries.Length;
                share.LineBytes += bytes;
                lineBytes += bytes;
            }

            tracker = source.CreateAckTracker(0, new ReceivedPush(tenant.Tenant, count, lineBytes, streams));
            var refusal = await EmitAsync(source, push, tenant.Tenant, tracker, aborted).ConfigureAwait(false);
            if (refusal is not null)
            {
                await WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, refusal).ConfigureAwait(false);
                return;
            }
        }

        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(aborted, source.Aborted);
            await tracker.WaitForCommitAsync(count, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (source.Aborted.IsCancellationRequested && !aborted.IsCancellationRequested)
        {
            await WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "the pipeline stopped before the push was stored; retry").ConfigureAwait(false);
            return;
        }

        var (status, message) = Answer(tracker, count);
        if (status == StatusCodes.Status204NoContent)
        {
            context.Response.StatusCode = status;
            return;
        }

        await WriteErrorAsync(context, status, message).ConfigureAwait(false);
    }

    /// <summary>What a request whose entries are all settled is answered: 204, or Loki's status and list of what was refused.</summary>
    internal static (int Status, string Message) Answer(AckTracker tracker, int total)
    {
        var rejected = tracker.RejectedCount;
        if (rejected == 0)
        {
            return (StatusCodes.Status204NoContent, string.Empty);
        }

        var rejections = tracker.Rejections;
        var status = StatusCodes.Status400BadRequest;
        foreach (var rejection in rejections)
        {
            status = rejection.Kind switch
            {
                RejectionKind.Failed => StatusCodes.Status500InternalServerError,
                RejectionKind.Limited when status != StatusCodes.Status500InternalServerError => StatusCodes.Status429TooManyRequests,
                _ => status,
            };
        }

        // A whole request refused for one cause (a tenant rate limit, a failed write) is answered with that cause alone.
        if (rejected == total && rejections.Count == 1 && rejections[0].Kind != RejectionKind.Invalid)
        {
            return (status, rejections[0].Message);
        }

        var body = new System.Text.StringBuilder();
        for (var i = 0; i < rejections.Count && i < MaxListedErrors; i++)
        {
            body.Append(rejections[i].Message).Append('\n');
        }

        if (rejections.Count > MaxListedErrors)
        {
            body.Append(System.Globalization.CultureInfo.InvariantCulture, $"... and {rejections.Count - MaxListedErrors} more errors\n");
        }

        body.Append(System.Globalization.CultureInfo.InvariantCulture, $"total ignored: {rejected} out of {total}");
        return (status, body.ToString());
    }

    private async Task<string?> EmitAsync(SourceContext source, DecodedPush push, string? tenant, AckTracker tracker, CancellationToken aborted)
    {
        var time = source.TimeProvider;
        using var timeout = new CancellationTokenSource(_options.HandOffTimeout, time);
        using var handOff = CancellationTokenSource.CreateLinkedTokenSource(aborted, timeout.Token);
        try
        {
            await _emitGate.WaitAsync(handOff.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return aborted.IsCancellationRequested ? "the client went away" : Busy();
        }

        EntryChunk? chunk = null;
        var emitted = false;
        try
        {
            if (!_accepting)
            {
                return "not ready: the push receiver is stopping";
            }

            var now = (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
            var incoming = _options.UseIncomingTimestamp;

            // The whole request is tracked at once: the tracker is sized once for it, not grown chunk by chunk.
            var tokens = Track(tracker, push.EntryCount);
            var next = 0;
            chunk = source.Chunks.Rent();
            foreach (var stream in push.Streams)
            {
                var labels = WithExtraLabels(stream.Labels);
                for (var i = 0; i < stream.EntrySpan.Length; i++)
                {
                    var decoded = stream.EntrySpan[i];
                    if (chunk.IsFull)
                    {
                        var full = chunk;
                        chunk = null;
                        await source.EmitAsync(full, emitted ? aborted : handOff.Token).ConfigureAwait(false);
                        emitted = true;
                        chunk = source.Chunks.Rent();
                    }

                    var entry = chunk.Add();
                    entry.Timestamp = incoming ? decoded.Timestamp : now;
                    entry.Labels = labels;
                    entry.Tenant = tenant;
                    entry.Ack = tokens[next++];
                    entry.SetLine(decoded.Line.Span);
                    if (decoded.StructuredMetadata.Count > 0)
                    {
                        foreach (var pair in decoded.StructuredMetadata)
                        {
                            entry.Metadata.Set(pair.Name, pair.Value.AsSpan());
                        }
                    }
                }
            }

            var last = chunk;
            chunk = null;
            await source.EmitAsync(last, emitted ? aborted : handOff.Token).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException) when (!emitted)
        {
            // Nothing was handed on: the client retries the whole request.
            Settle(chunk);
            return aborted.IsCancellationRequested ? "the client went away" : Busy();
        }
        catch (System.Threading.Channels.ChannelClosedException)
        {
            // The pipeline failed or stopped under us: what was handed on is settled by it (or its source stays uncommitted).
            Settle(chunk);
            return "the pipeline stopped before the push was stored; retry";
        }
        catch (OperationCanceledException)
        {
            // Part of the request is on its way; its entries are stored and the retry's duplicates are stored once.
            Settle(chunk);
            throw;
        }
        finally
        {
            _emitGate.Release();
        }

        // A request's entries are tracked together: one lock for the request, not one per entry.
        AckToken[] Track(AckTracker tracker, int count)
        {
            if (_tokens.Length < count)
            {
                _tokens = new AckToken[System.Numerics.BitOperations.RoundUpToPowerOf2((uint)count)];
            }

            tracker.Track(_tokens.AsSpan(0, count), 1);
            return _tokens;
        }

        static void Settle(EntryChunk? chunk)
        {
            if (chunk is null)
            {
                return;
            }

            foreach (var entry in chunk.Entries)
            {
                entry.Ack.Complete();
            }

            chunk.Release();
        }

        string Busy() => string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"the pipeline did not take the push within {_options.HandOffTimeout.TotalSeconds:0.#} s (it is full); retry later");
    }

    private LabelSet WithExtraLabels(LabelSet labels)
    {
        if (_extraLabels.Length == 0)
        {
            return labels;
        }

        if (_withExtraLabels.TryGetValue(labels, out var merged))
        {
            return merged;
        }

        var builder = labels.ToBuilder();
        foreach (var label in _extraLabels)
        {
            if (!labels.Contains(label.Name))
            {
                builder.Set(label.Name, label.Value);
            }
        }

        merged = builder.Build();
        if (_withExtraLabels.Count >= MaxCachedLabelSets)
        {
            _withExtraLabels.Clear();
        }

        _withExtraLabels[labels] = merged;
        return merged;
    }

    private async Task<WebApplication> StartListenerAsync(string listen, CancellationToken cancellationToken)
    {
        var endpoint = IPEndPoint.Parse(listen);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(endpoint);
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.AddServerHeader = false;
        });
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        app.MapPost(LokiPush.Path, HandleAsync);
        app.MapGet("/ready", context =>
        {
            context.Response.StatusCode = _accepting ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            return context.Response.WriteAsync(_accepting ? "ready\n" : "not ready\n", context.RequestAborted);
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return app;
    }

    private Task TooLargeAsync(HttpContext context, string? tenant, long length)
    {
        _options.OnRequestTooLarge?.Invoke(tenant, length);

        // The rest of the body is not read: close the connection rather than drain it.
        context.Response.Headers.Connection = "close";
        return WriteErrorAsync(context, StatusCodes.Status413PayloadTooLarge, $"request body too large: {length} bytes, limit: {_options.MaxRequestBodyBytes} bytes");
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message + "\n", context.RequestAborted);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loki push receiver listening on {Address}")]
    private static partial void LogListening(ILogger logger, string address);
}
