using System.Buffers;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Delivery;

namespace Pipeline.Prometheus.RemoteWrite;

/// <summary>
/// Prometheus remote write 1.0 client: buffers samples (bounded; <see cref="WriteAsync"/> waits when full), sends a
/// request when it holds <see cref="RemoteWriteOptions.MaxSamplesPerSend"/> samples or
/// <see cref="RemoteWriteOptions.BatchSendDeadline"/> after its first sample, snappy-compressed protobuf with the
/// remote-write headers. One request is in flight at a time, so samples of a series arrive in the order written.
/// 429, 5xx and network errors are retried with backoff (honouring <c>Retry-After</c>); other 4xx drop the request's
/// samples (counted). The remote-write wire format on the delivery layer (<see cref="DeliveryBatcher{TBatch}"/>,
/// <see cref="HttpDeliveryClient"/>).
/// Lifecycle: <see cref="StartAsync"/>, then <see cref="StopAsync"/> (sends what is buffered) or <see cref="DisposeAsync"/>.
/// </summary>
public sealed class RemoteWriteSink : IAsyncDisposable
{
    private static readonly MediaTypeHeaderValue s_contentType = new("application/x-protobuf");

    private readonly RemoteWriteOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Channel<RemoteWriteSample> _channel;
    private readonly HttpDeliveryClient _client;
    private readonly DeliveryMetrics _metrics;
    private readonly DeliveryBatcher<Batch> _batcher;
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _gate = new();
    private Task? _loop;

    /// <summary>Creates the sink; nothing is sent before <see cref="StartAsync"/>.</summary>
    /// <param name="httpClient">The client to post with (its handler is reused across requests).</param>
    /// <param name="options">Endpoint, batching and retry settings.</param>
    /// <param name="logger">Where rejections and give-ups are logged; <see langword="null"/> for none.</param>
    /// <exception cref="ArgumentException"><see cref="RemoteWriteOptions.Endpoint"/> is missing or not an absolute http(s) URI.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size, count or duration option is out of range.</exception>
    public RemoteWriteSink(HttpClient httpClient, RemoteWriteOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Endpoint is not { IsAbsoluteUri: true } endpoint || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException(
                $"RemoteWriteOptions.Endpoint must be an absolute http or https URI (e.g. http://prometheus:9090/api/v1/write); got '{options.Endpoint}'.",
                nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxSamplesPerSend, 1, "RemoteWriteOptions.MaxSamplesPerSend");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Capacity, 1, "RemoteWriteOptions.Capacity");
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxRetries, "RemoteWriteOptions.MaxRetries");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.BatchSendDeadline, TimeSpan.Zero, "RemoteWriteOptions.BatchSendDeadline");
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.MinBackoff, TimeSpan.Zero, "RemoteWriteOptions.MinBackoff");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBackoff, options.MinBackoff, "RemoteWriteOptions.MaxBackoff");

        _options = options;
        _timeProvider = options.TimeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _channel = Channel.CreateBounded<RemoteWriteSample>(new BoundedChannelOptions(options.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });

        // The protocol's own headers first: a configured header of the same name replaces it.
        List<KeyValuePair<string, string>> headers =
        [
            new("X-Prometheus-Remote-Write-Version", "0.1.0"),
            new("User-Agent", "Pipeline.Prometheus/0.1"),
            .. options.Headers,
        ];
        var http = new DeliveryHttpOptions
        {
            // HttpClient's own Timeout still applies; this one runs on the sink's clock.
            Timeout = httpClient.Timeout == System.Threading.Timeout.InfiniteTimeSpan ? TimeSpan.FromMinutes(1) : httpClient.Timeout,
            Headers = headers,
            Retry = new DeliveryRetryOptions { MinBackoff = options.MinBackoff, MaxBackoff = options.MaxBackoff, MaxRetries = options.MaxRetries, Jitter = false },
        };
        _client = new HttpDeliveryClient(endpoint, http, httpClient);
        _metrics = new DeliveryMetrics(options.Metrics, meter: null, names: null, string.Empty, string.Empty, endpoint.Authority);
        var batching = new DeliveryBatcherOptions { BatchSize = options.MaxSamplesPerSend, BatchWait = options.BatchSendDeadline };

        // Not aborted through the batcher: a stop deadline turns the remaining sends into counted drops instead.
        _batcher = new DeliveryBatcher<Batch>(batching, () => new Batch(Math.Min(options.MaxSamplesPerSend, 4096)), SendAsync, _timeProvider, CancellationToken.None);
    }

    /// <summary>Samples delivered (2xx).</summary>
    public long SentSamples => _metrics.SentItems;

    /// <summary>Samples dropped: rejected by the receiver (non-429 4xx), retries exhausted, or unsent at an aborted stop.</summary>
    public long DroppedSamples => _metrics.DroppedItems;

    /// <summary>Requests that failed and were (or would have been) retried.</summary>
    public long FailedAttempts => _metrics.FailedAttempts;

    /// <summary>Requests posted successfully.</summary>
    public long Requests => _metrics.Requests;

    /// <summary>Test hook: called when the batch loop starts waiting for the batch deadline.</summary>
    internal Action? OnWaitingForDeadline
    {
        get => _batcher.OnWaitingForDeadline;
        set => _batcher.OnWaitingForDeadline = value;
    }

    /// <summary>Test hook: see <see cref="HttpDeliveryClient.OnBackoff"/>.</summary>
    internal Action<TimeSpan>? OnBackoff
    {
        get => _client.OnBackoff;
        set => _client.OnBackoff = value;
    }

    /// <summary>Starts the send loop (idempotent).</summary>
    /// <param name="cancellationToken">Unused; the loop runs until <see cref="StopAsync"/>.</param>
    /// <returns>A completed task.</returns>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            _loop ??= Task.Run(RunAsync, CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    /// <summary>Buffers a sample; waits while the buffer is full.</summary>
    /// <param name="sample">The sample.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>A task that completes when the sample is buffered.</returns>
    /// <exception cref="InvalidOperationException">The sink is stopped.</exception>
    public async ValueTask WriteAsync(RemoteWriteSample sample, CancellationToken cancellationToken = default)
    {
        try
        {
            await _channel.Writer.WriteAsync(sample, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw new InvalidOperationException("The remote-write sink is stopped; it takes no more samples.", e);
        }
    }

    /// <summary>
    /// Stops taking samples and sends what is buffered. When <paramref name="cancellationToken"/> fires first, retries
    /// stop and the unsent samples are dropped (counted). Idempotent; safe before start.
    /// </summary>
    /// <param name="cancellationToken">The stop deadline.</param>
    /// <returns>A task that completes when the loop has ended.</returns>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        _channel.Writer.TryComplete();
        Task loop;
        lock (_gate)
        {
            _loop ??= Task.Run(RunAsync, CancellationToken.None);
            loop = _loop;
        }

        using var registration = cancellationToken.Register(static state => ((CancellationTokenSource)state!).Cancel(), _abort);
        await loop.ConfigureAwait(false);
    }

    /// <summary>Stops (see <see cref="StopAsync"/>) without a deadline.</summary>
    /// <returns>A task that completes when stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _abort.Dispose();
        _client.Dispose();
    }

    private Task RunAsync() => _batcher.RunAsync(_channel.Reader, AddAsync);

    private ValueTask AddAsync(RemoteWriteSample sample)
    {
        var batch = _batcher.Open(string.Empty);
        batch.Samples.Add(sample);
        batch.Added(default);
        return _batcher.AddedAsync(string.Empty);
    }

    private async Task<DeliveryResult> SendAsync(string key, Batch batch, CancellationToken cancellationToken)
    {
        var count = batch.Count;
        if (_abort.IsCancellationRequested)
        {
            _metrics.Dropped(count, "shutdown");
            return DeliveryResult.Dropped("shutdown");
        }

        var (buffer, length) = RemoteWriteEncoder.Encode(RemoteWriteEncoder.Build(batch.Samples));
        try
        {
            var request = new DeliveryRequest(buffer.AsMemory(0, length), count) { ContentType = s_contentType, ContentEncoding = "snappy" };
            return await _client.SendAsync(request, _metrics, _timeProvider, _logger, _abort.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            _metrics.Dropped(count, "shutdown");
            return DeliveryResult.Dropped("shutdown");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The samples of one request.</summary>
    private sealed class Batch(int capacity) : DeliveryBatch
    {
        public List<RemoteWriteSample> Samples { get; } = new(capacity);

        public override long Size => Samples.Count;

        protected override void Clear() => Samples.Clear();
    }
}
