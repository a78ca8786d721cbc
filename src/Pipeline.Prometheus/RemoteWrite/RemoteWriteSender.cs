using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;

namespace Pipeline.Prometheus.RemoteWrite;

/// <summary>The outcome of sending one request.</summary>
internal enum SendOutcome
{
    Sent,
    Rejected,
    RetriesExhausted,
    Canceled,
}

/// <summary>
/// Posts one encoded remote-write request with retries: 429, 5xx and network errors are retried with exponential
/// backoff (<see cref="RemoteWriteOptions.MinBackoff"/> doubling to <see cref="RemoteWriteOptions.MaxBackoff"/>, at most
/// <see cref="RemoteWriteOptions.MaxRetries"/> times); any other non-2xx is a permanent rejection.
/// (Kept in one file so it can later share the Loki push sink's backoff code.)
/// </summary>
internal sealed partial class RemoteWriteSender
{
    private static readonly MediaTypeHeaderValue s_contentType = new("application/x-protobuf");

    private readonly HttpClient _httpClient;
    private readonly RemoteWriteOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    public RemoteWriteSender(HttpClient httpClient, RemoteWriteOptions options, TimeProvider timeProvider, ILogger logger)
    {
        _httpClient = httpClient;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>Test hook: called with each backoff delay just before waiting it.</summary>
    internal Action<TimeSpan>? OnBackoff { get; set; }

    /// <summary>Retryable failures so far (each failed attempt).</summary>
    public long FailedAttempts;

    public static TimeSpan GetBackoff(int retry, TimeSpan min, TimeSpan max)
    {
        var ticks = min.Ticks * Math.Pow(2, Math.Min(retry, 30));
        return ticks >= max.Ticks ? max : TimeSpan.FromTicks((long)ticks);
    }

    public async Task<SendOutcome> SendAsync(byte[] body, int length, int samples, CancellationToken cancellationToken)
    {
        for (var retry = 0; ; retry++)
        {
            string failure;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, _options.Endpoint);
                var content = new ByteArrayContent(body, 0, length);
                content.Headers.ContentType = s_contentType;
                content.Headers.ContentEncoding.Add("snappy");
                request.Content = content;
                request.Headers.Add("X-Prometheus-Remote-Write-Version", "0.1.0");
                request.Headers.UserAgent.ParseAdd("Pipeline.Prometheus/0.1");
                foreach (var header in _options.Headers)
                {
                    request.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }

                using var response = await _httpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                if (status is >= 200 and < 300)
                {
                    return SendOutcome.Sent;
                }

                var detail = await ReadDetailAsync(response, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode != HttpStatusCode.TooManyRequests && status < 500)
                {
                    LogRejected(_logger, status, samples, detail);
                    return SendOutcome.Rejected;
                }

                failure = $"HTTP {status}: {detail}";
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return SendOutcome.Canceled;
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
            {
                // OperationCanceledException here is HttpClient's own time-out, not ours: a network failure.
                failure = e.Message;
            }

            Interlocked.Increment(ref FailedAttempts);
            _options.Metrics?.AddErrors();
            if (retry >= _options.MaxRetries)
            {
                LogGaveUp(_logger, retry + 1, samples, failure);
                return SendOutcome.RetriesExhausted;
            }

            var delay = GetBackoff(retry, _options.MinBackoff, _options.MaxBackoff);
            LogRetrying(_logger, failure, delay);
            OnBackoff?.Invoke(delay);
            try
            {
                await Task.Delay(delay, _timeProvider, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return SendOutcome.Canceled;
            }
        }
    }

    private static async Task<string> ReadDetailAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return text.Length > 256 ? text[..256] : text.Trim();
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return string.Empty;
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "Remote write rejected {Samples} sample(s) with HTTP {Status}; they are dropped: {Detail}")]
    private static partial void LogRejected(ILogger logger, int status, int samples, string detail);

    [LoggerMessage(2, LogLevel.Error, "Remote write gave up after {Attempts} attempt(s); {Samples} sample(s) dropped. Last failure: {Failure}")]
    private static partial void LogGaveUp(ILogger logger, int attempts, int samples, string failure);

    [LoggerMessage(3, LogLevel.Debug, "Remote write failed ({Failure}); retrying in {Delay}")]
    private static partial void LogRetrying(ILogger logger, string failure, TimeSpan delay);
}
