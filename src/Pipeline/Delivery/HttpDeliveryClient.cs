using System.Buffers;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Pipeline.Delivery;

/// <summary>One encoded request for <see cref="HttpDeliveryClient.SendAsync"/>.</summary>
/// <param name="Body">The body, already encoded and compressed.</param>
/// <param name="Items">How many items (entries, samples) it carries, for the counters.</param>
public readonly record struct DeliveryRequest(ReadOnlyMemory<byte> Body, int Items)
{
    /// <summary>The body's media type.</summary>
    public MediaTypeHeaderValue? ContentType { get; init; }

    /// <summary>The body's <c>Content-Encoding</c> (<c>gzip</c>, <c>snappy</c>), if any.</summary>
    public string? ContentEncoding { get; init; }

    /// <summary>The batching key (a tenant), for the log and <see cref="KeyHeader"/>.</summary>
    public string? Key { get; init; }

    /// <summary>A header that carries a non-empty <see cref="Key"/> (e.g. <c>X-Scope-OrgID</c>).</summary>
    public string? KeyHeader { get; init; }
}

/// <summary>
/// Posts encoded requests to one URL with the delivery layer's one retry loop: 429, 5xx, network errors and
/// time-outs are retried as <see cref="DeliveryHttpOptions.Retry"/> says (honouring <c>Retry-After</c> in seconds or
/// as an HTTP date); other statuses drop the request's items, counted by reason. Error bodies are read only up to
/// <see cref="DeliveryHttpOptions.MaxErrorBody"/> bytes. Thread-safe: several requests may be in flight.
/// </summary>
public sealed partial class HttpDeliveryClient : IDisposable
{
    private readonly HttpClient _client;
    private readonly bool _ownsClient;
    private readonly DeliveryHttpOptions _options;
    private readonly DeliveryAuthorization _authorization;

    /// <summary>Creates a client that owns its <see cref="HttpClient"/>.</summary>
    /// <param name="url">Where requests go.</param>
    /// <param name="options">HTTP and retry settings.</param>
    /// <param name="handler">The handler; <see langword="null"/> builds one from <paramref name="options"/>.</param>
    public HttpDeliveryClient(Uri url, DeliveryHttpOptions options, HttpMessageHandler? handler = null)
        : this(url, options, new HttpClient(handler ?? (options ?? throw new ArgumentNullException(nameof(options))).CreateHandler(), disposeHandler: true) { Timeout = System.Threading.Timeout.InfiniteTimeSpan }, ownsClient: true)
    {
    }

    /// <summary>Creates a client on the caller's <see cref="HttpClient"/>, which it does not dispose.</summary>
    /// <param name="url">Where requests go.</param>
    /// <param name="options">HTTP and retry settings.</param>
    /// <param name="client">The client to post with.</param>
    public HttpDeliveryClient(Uri url, DeliveryHttpOptions options, HttpClient client)
        : this(url, options, client, ownsClient: false)
    {
    }

    private HttpDeliveryClient(Uri url, DeliveryHttpOptions options, HttpClient client, bool ownsClient)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(client);
        options.Retry.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.Timeout, TimeSpan.Zero, "Timeout");
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxErrorBody, "MaxErrorBody");
        Url = url;
        Host = url.Authority;
        _options = options;
        _client = client;
        _ownsClient = ownsClient;
        _authorization = new DeliveryAuthorization(options);
    }

    /// <summary>Where requests go.</summary>
    public Uri Url { get; }

    /// <summary>The URL's authority (the <c>host</c> tag).</summary>
    public string Host { get; }

    /// <summary>Called with each retry delay just before it is waited (diagnostics and tests).</summary>
    public Action<TimeSpan>? OnBackoff { get; set; }

    /// <summary>Sends a request until it is delivered or definitively dropped; counts it in <paramref name="metrics"/>.</summary>
    /// <param name="request">The request.</param>
    /// <param name="metrics">Where sent, dropped, errors, retries and latency are counted.</param>
    /// <param name="time">The clock of time-outs and backoff.</param>
    /// <param name="logger">Where rejections, retries and give-ups are logged.</param>
    /// <param name="cancellationToken">Aborts: the request is neither delivered nor dropped.</param>
    /// <returns>Delivered, or dropped with the reason counted.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public async Task<DeliveryResult> SendAsync(DeliveryRequest request, DeliveryMetrics metrics, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        var key = request.Key ?? string.Empty;
        var retry = _options.Retry;
        metrics.InFlight(1);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                var outcome = await SendOnceAsync(request, metrics, time, cancellationToken).ConfigureAwait(false);
                switch (DeliveryClassifier.Classify(outcome.Status))
                {
                    case DeliveryFailureKind.None:
                        metrics.Sent(request.Items, request.Body.Length);
                        return DeliveryResult.Sent;
                    case DeliveryFailureKind.Permanent:
                        var reason = $"http_{outcome.Status}";
                        LogRejected(logger, Host, request.Items, key, outcome.Status, outcome.Detail);
                        metrics.Dropped(request.Items, reason);
                        return DeliveryResult.Dropped(reason);
                }

                metrics.Error();
                if (retry.MaxRetries is { } maxRetries && attempt >= maxRetries)
                {
                    LogGaveUp(logger, Host, key, attempt, outcome.Describe(), request.Items);
                    metrics.Dropped(request.Items, "max_retries");
                    return DeliveryResult.Dropped("max_retries");
                }

                var delay = retry.Delay(attempt, outcome.RetryAfter);
                metrics.Retry();
                LogRetrying(logger, Host, key, outcome.Describe(), attempt + 1, delay);
                OnBackoff?.Invoke(delay);
                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            metrics.InFlight(-1);
        }
    }

    /// <summary>Disposes the HTTP client when this instance created it.</summary>
    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }

    private async Task<Outcome> SendOnceAsync(DeliveryRequest body, DeliveryMetrics metrics, TimeProvider time, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Url)
        {
            Version = _options.HttpVersion,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
            Content = new ReadOnlyMemoryContent(body.Body),
        };
        request.Content.Headers.ContentType = body.ContentType;
        if (body.ContentEncoding is not null)
        {
            request.Content.Headers.ContentEncoding.Add(body.ContentEncoding);
        }

        if (body.KeyHeader is not null && !string.IsNullOrEmpty(body.Key))
        {
            request.Headers.TryAddWithoutValidation(body.KeyHeader, body.Key);
        }

        foreach (var header in _options.Headers)
        {
            request.Headers.Remove(header.Key);
            request.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        using var timeout = new CancellationTokenSource(_options.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var started = time.GetTimestamp();
        try
        {
            request.Headers.Authorization = _authorization.Get();
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            metrics.Request(time.GetElapsedTime(started).TotalSeconds, status);
            if (status is >= 200 and < 300)
            {
                return new Outcome(status, null, string.Empty);
            }

            var detail = await ReadDetailAsync(response, _options.MaxErrorBody, linked.Token).ConfigureAwait(false);
            return new Outcome(status, RetryAfter(response, time), detail);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or UnauthorizedAccessException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            metrics.Request(time.GetElapsedTime(started).TotalSeconds, 0);
            var detail = e is OperationCanceledException ? $"timed out after {_options.Timeout}" : e.Message;
            return new Outcome(0, null, detail);
        }
    }

    /// <summary>Reads at most <paramref name="limit"/> bytes of an error body (never the whole of a large one).</summary>
    internal static async Task<string> ReadDetailAsync(HttpResponseMessage response, int limit, CancellationToken cancellationToken)
    {
        if (limit == 0)
        {
            return string.Empty;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(limit);
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var read = await stream.ReadAtLeastAsync(buffer.AsMemory(0, limit), limit, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                var text = Encoding.UTF8.GetString(buffer, 0, read).Trim();
                return read == limit ? text + "..." : text;
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
        {
            return $"(response body unreadable: {e.Message})";
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The wait a response asks for, in seconds or as an HTTP date (relative to the pipeline's clock).</summary>
    internal static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider time)
    {
        if (response.Headers.RetryAfter is not { } retryAfter)
        {
            return null;
        }

        if (retryAfter.Delta is { } delta)
        {
            return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        }

        if (retryAfter.Date is { } date)
        {
            var wait = date - time.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }

    [LoggerMessage(1, LogLevel.Warning, "{Host} rejected {Items} item(s) of '{Key}' with status {Status}; dropped. Response: {Body}")]
    private static partial void LogRejected(ILogger logger, string host, int items, string key, int status, string body);

    [LoggerMessage(2, LogLevel.Warning, "Push to {Host} for '{Key}' failed ({Reason}); retry {Attempt} in {Delay}")]
    private static partial void LogRetrying(ILogger logger, string host, string key, string reason, int attempt, TimeSpan delay);

    [LoggerMessage(3, LogLevel.Error, "Push to {Host} for '{Key}' failed after {Retries} retries ({Reason}); dropped {Items} item(s)")]
    private static partial void LogGaveUp(ILogger logger, string host, string key, int retries, string reason, int items);

    private readonly record struct Outcome(int Status, TimeSpan? RetryAfter, string Detail)
    {
        public string Describe() => Status == 0 ? Detail : $"status {Status}";
    }
}
