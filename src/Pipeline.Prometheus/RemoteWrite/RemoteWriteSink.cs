using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pipeline.Prometheus.RemoteWrite;

/// <summary>
/// Prometheus remote write 1.0 client: buffers samples (bounded; <see cref="WriteAsync"/> waits when full), sends a
/// request when it holds <see cref="RemoteWriteOptions.MaxSamplesPerSend"/> samples or
/// <see cref="RemoteWriteOptions.BatchSendDeadline"/> after its first sample, snappy-compressed protobuf with the
/// remote-write headers. One request is in flight at a time, so samples of a series arrive in the order written.
/// 429, 5xx and network errors are retried with backoff; other 4xx drop the request's samples (counted).
/// Lifecycle: <see cref="StartAsync"/>, then <see cref="StopAsync"/> (sends what is buffered) or <see cref="DisposeAsync"/>.
/// </summary>
public sealed class RemoteWriteSink : IAsyncDisposable
{
    private readonly RemoteWriteOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly Channel<RemoteWriteSample> _channel;
    private readonly RemoteWriteSender _sender;
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _gate = new();
    private Task? _loop;
    private long _sent;
    private long _dropped;
    private long _requests;

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
        _channel = Channel.CreateBounded<RemoteWriteSample>(new BoundedChannelOptions(options.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _sender = new RemoteWriteSender(httpClient, options, _timeProvider, logger ?? NullLogger.Instance);
    }

    /// <summary>Samples delivered (2xx).</summary>
    public long SentSamples => Interlocked.Read(ref _sent);

    /// <summary>Samples dropped: rejected by the receiver (non-429 4xx), retries exhausted, or unsent at an aborted stop.</summary>
    public long DroppedSamples => Interlocked.Read(ref _dropped);

    /// <summary>Requests that failed and were (or would have been) retried.</summary>
    public long FailedAttempts => Interlocked.Read(ref _sender.FailedAttempts);

    /// <summary>Requests posted successfully.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Test hook: called when the batch loop starts waiting for the batch deadline.</summary>
    internal Action? OnWaitingForDeadline { get; set; }

    /// <summary>Test hook: see <see cref="RemoteWriteSender.OnBackoff"/>.</summary>
    internal Action<TimeSpan>? OnBackoff
    {
        get => _sender.OnBackoff;
        set => _sender.OnBackoff = value;
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
    }

    private async Task RunAsync()
    {
        var reader = _channel.Reader;
        var batch = new List<RemoteWriteSample>(Math.Min(_options.MaxSamplesPerSend, 4096));
        var batchStarted = 0L;
        while (true)
        {
            if (batch.Count == 0)
            {
                if (!await WaitToReadAsync(reader).ConfigureAwait(false))
                {
                    return;
                }

                batchStarted = _timeProvider.GetTimestamp();
            }

            while (batch.Count < _options.MaxSamplesPerSend && reader.TryRead(out var sample))
            {
                batch.Add(sample);
            }

            if (batch.Count >= _options.MaxSamplesPerSend)
            {
                await SendAsync(batch).ConfigureAwait(false);
                continue;
            }

            var remaining = _options.BatchSendDeadline - _timeProvider.GetElapsedTime(batchStarted);
            if (remaining <= TimeSpan.Zero)
            {
                await SendAsync(batch).ConfigureAwait(false);
                continue;
            }

            using var delayCancellation = new CancellationTokenSource();
            var delay = Task.Delay(remaining, _timeProvider, delayCancellation.Token);
            var more = reader.WaitToReadAsync(delayCancellation.Token).AsTask();
            OnWaitingForDeadline?.Invoke();
            var first = await Task.WhenAny(delay, more).ConfigureAwait(false);
            await delayCancellation.CancelAsync().ConfigureAwait(false);
            if (first == delay || !more.IsCompletedSuccessfully || !await more.ConfigureAwait(false))
            {
                // Deadline reached, or the writer completed: send what there is.
                await SendAsync(batch).ConfigureAwait(false);
            }
        }
    }

    private static async Task<bool> WaitToReadAsync(ChannelReader<RemoteWriteSample> reader)
    {
        try
        {
            return await reader.WaitToReadAsync().ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return false;
        }
    }

    private async Task SendAsync(List<RemoteWriteSample> batch)
    {
        var count = batch.Count;
        if (_abort.IsCancellationRequested)
        {
            Drop(count, "shutdown");
            batch.Clear();
            return;
        }

        var (buffer, length) = RemoteWriteEncoder.Encode(RemoteWriteEncoder.Build(batch));
        batch.Clear();
        try
        {
            switch (await _sender.SendAsync(buffer, length, count, _abort.Token).ConfigureAwait(false))
            {
                case SendOutcome.Sent:
                    Interlocked.Add(ref _sent, count);
                    Interlocked.Increment(ref _requests);
                    _options.Metrics?.AddSent(count);
                    break;
                case SendOutcome.Rejected:
                    Drop(count, "rejected");
                    break;
                case SendOutcome.RetriesExhausted:
                    Drop(count, "retries_exhausted");
                    break;
                default:
                    Drop(count, "shutdown");
                    break;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Drop(int count, string reason)
    {
        Interlocked.Add(ref _dropped, count);
        _options.Metrics?.AddDropped(count, reason);
    }
}
