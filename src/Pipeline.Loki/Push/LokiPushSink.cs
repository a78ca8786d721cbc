using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Pipeline.Loki.Protocol;
using Pipeline.Model;
using Pipeline.Runtime;

namespace Pipeline.Loki.Push;

/// <summary>
/// Pushes entries to Loki (or anything speaking its push API), like Promtail's client: batches per tenant, grouped
/// by stream, sent when a batch reaches <see cref="LokiPushSinkOptions.BatchSize"/> or has waited
/// <see cref="LokiPushSinkOptions.BatchWait"/>; 429, 5xx and network errors are retried with exponential backoff and
/// jitter (honouring <c>Retry-After</c>), by default forever and at most <see cref="LokiPushSinkOptions.MaxBackoff"/>
/// (5 s) apart, so delivery resumes within seconds of a recovery; other 4xx are dropped, counted and logged. Entries
/// are acknowledged only after a 2xx or a definitive drop.
/// </summary>
/// <remarks>
/// Each tenant has one batch in flight at a time, so a stream's entries always arrive in order. While a tenant's
/// batch is being retried the sink stops reading its input: that backpressure, not memory, absorbs an outage.
/// Internal (<c>__</c>) labels are removed and <see cref="LokiPushSinkOptions.ExternalLabels"/> added before sending.
/// </remarks>
public sealed class LokiPushSink : ILogSink, IDisposable
{
    private static readonly Meter s_defaultMeter = new(LokiPushInstruments.MeterName);

    /// <summary>The longest <c>Retry-After</c> honoured when <see cref="LokiPushSinkOptions.MaxBackoff"/> is shorter.</summary>
    private static readonly TimeSpan s_maxRetryAfter = TimeSpan.FromMinutes(5);

    private readonly LokiPushSinkOptions _options;
    private readonly LabelSet _externalLabels;
    private readonly HttpClient _client;
    private readonly Meter _meter;
    private readonly Uri _url;
    private readonly string _host;
    private readonly AuthenticationHeaderValue? _staticAuth;
    private readonly Lock _tokenLock = new();
    private DateTime _tokenFileTime;
    private AuthenticationHeaderValue? _tokenFileAuth;

    /// <summary>Creates a sink.</summary>
    /// <param name="options">The settings, checked now.</param>
    /// <param name="handler">The HTTP handler; <see langword="null"/> builds a pooled <see cref="SocketsHttpHandler"/> from the options.</param>
    /// <param name="meter">Where the sink's instruments go; a shared <c>Pipeline.Loki</c> meter when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">A setting is invalid; the message names it and what is accepted.</exception>
    public LokiPushSink(LokiPushSinkOptions options, HttpMessageHandler? handler = null, Meter? meter = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _externalLabels = options.Validate();
        _options = options;
        _url = options.Url!;
        _host = _url.Authority;
        _meter = meter ?? s_defaultMeter;
        _client = new HttpClient(handler ?? CreateHandler(options), disposeHandler: true) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        if (options.BasicAuthUsername is not null)
        {
            var raw = Encoding.UTF8.GetBytes($"{options.BasicAuthUsername}:{options.BasicAuthPassword}");
            _staticAuth = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(raw));
        }
        else if (options.BearerToken is not null)
        {
            _staticAuth = new AuthenticationHeaderValue("Bearer", options.BearerToken);
        }
    }

    /// <inheritdoc/>
    public async Task RunAsync(ChannelReader<EntryChunk> input, ComponentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(context);
        var run = new Run(this, context, new LokiPushMetrics(_meter, context.PipelineName, context.Name, _host), cancellationToken);
        try
        {
            await run.ReadAsync(input).ConfigureAwait(false);
        }
        finally
        {
            await run.StopAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Disposes the HTTP client.</summary>
    public void Dispose() => _client.Dispose();

    private static SocketsHttpHandler CreateHandler(LokiPushSinkOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = options.Timeout,
            AutomaticDecompression = DecompressionMethods.None,
            EnableMultipleHttp2Connections = true,
        };
        if (options.ProxyUrl is not null)
        {
            handler.Proxy = new WebProxy(options.ProxyUrl);
            handler.UseProxy = true;
        }

        var tls = options.Tls;
        if (tls.ServerName is not null)
        {
            handler.SslOptions.TargetHost = tls.ServerName;
        }

        if (tls.CertFile is not null)
        {
            handler.SslOptions.ClientCertificates = [X509Certificate2.CreateFromPemFile(tls.CertFile, tls.KeyFile)];
        }

        if (tls.InsecureSkipVerify)
        {
#pragma warning disable CA5359 // Explicit opt-in (Promtail's insecure_skip_verify), documented as testing only.
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (tls.CaFile is not null)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(tls.CaFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            };
        }

        return handler;
    }

    private AuthenticationHeaderValue? GetAuthorization()
    {
        if (_options.BearerTokenFile is not { } path)
        {
            return _staticAuth;
        }

        // Re-read the token when the file changes (Kubernetes rotates projected service-account tokens).
        var time = File.GetLastWriteTimeUtc(path);
        lock (_tokenLock)
        {
            if (_tokenFileAuth is null || time != _tokenFileTime)
            {
                _tokenFileAuth = new AuthenticationHeaderValue("Bearer", File.ReadAllText(path).Trim());
                _tokenFileTime = time;
            }

            return _tokenFileAuth;
        }
    }

    /// <summary>The state of one <see cref="RunAsync"/>: the open batch and sender of each tenant.</summary>
    private sealed class Run
    {
        private const int LabelCacheLimit = 10_000;

        private readonly LokiPushSink _sink;
        private readonly ComponentContext _context;
        private readonly LokiPushMetrics _metrics;
        private readonly CancellationToken _cancellationToken;
        private readonly TimeProvider _time;
        private readonly Dictionary<string, Tenant> _tenants = new(StringComparer.Ordinal);
        private readonly Dictionary<LabelSet, LabelSet> _labels = [];

        public Run(LokiPushSink sink, ComponentContext context, LokiPushMetrics metrics, CancellationToken cancellationToken)
        {
            _sink = sink;
            _context = context;
            _metrics = metrics;
            _cancellationToken = cancellationToken;
            _time = context.TimeProvider;
        }

        private LokiPushSinkOptions Options => _sink._options;

        public async Task ReadAsync(ChannelReader<EntryChunk> input)
        {
            Task<bool>? waiting = null;
            while (true)
            {
                while (input.TryRead(out var chunk))
                {
                    try
                    {
                        await AddAsync(chunk).ConfigureAwait(false);
                    }
                    finally
                    {
                        chunk.Release();
                    }
                }

                await FlushExpiredAsync().ConfigureAwait(false);
                waiting ??= input.WaitToReadAsync(_cancellationToken).AsTask();
                var deadline = NextDeadline();
                if (deadline is null || waiting.IsCompleted)
                {
                    if (!await waiting.ConfigureAwait(false))
                    {
                        break;
                    }

                    waiting = null;
                    continue;
                }

                using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(_cancellationToken);
                var delay = Task.Delay(deadline.Value, _time, delayCancel.Token);
                if (await Task.WhenAny(waiting, delay).ConfigureAwait(false) == waiting)
                {
                    await delayCancel.CancelAsync().ConfigureAwait(false);
                    if (!await waiting.ConfigureAwait(false))
                    {
                        break;
                    }

                    waiting = null;
                }
            }

            // Input completed: send what is buffered.
            foreach (var tenant in _tenants.Values)
            {
                await tenant.FlushAsync(_cancellationToken).ConfigureAwait(false);
            }
        }

        public async Task StopAsync()
        {
            foreach (var tenant in _tenants.Values)
            {
                tenant.Complete();
            }

            foreach (var tenant in _tenants.Values)
            {
                await tenant.Sender.ConfigureAwait(false);
                tenant.Dispose();
            }
        }

        private async ValueTask AddAsync(EntryChunk chunk)
        {
            for (var i = 0; i < chunk.Count; i++)
            {
                var entry = chunk[i];
                var tenant = GetTenant(entry.Tenant ?? Options.TenantId ?? string.Empty);
                var labels = MapLabels(entry.Labels);
                var metadataBytes = 0;
                for (var m = 0; m < entry.Metadata.Count; m++)
                {
                    metadataBytes += (entry.Metadata.NameAt(m).Length * 3) + entry.Metadata.ValueAt(m).Length;
                }

                var growth = tenant.Open.Request.EstimateGrowth(labels, entry.LineLength, metadataBytes, entry.Metadata.Count);
                if (growth > Options.MaxRequestSize)
                {
                    LokiPushLog.TooLarge(_context.Logger, growth, Options.MaxRequestSize);
                    _metrics.Dropped(1, "entry_too_large");
                    _context.Metrics.AddDropped(1, "entry_too_large");
                    entry.Ack.Acknowledge();
                    continue;
                }

                if (tenant.Open.Request.EntryCount > 0 && tenant.Open.Request.ProtobufLength + growth > Options.MaxRequestSize)
                {
                    await tenant.FlushAsync(_cancellationToken).ConfigureAwait(false);
                }

                if (tenant.Open.Request.EntryCount == 0)
                {
                    tenant.Open.Started = _time.GetTimestamp();
                }

                tenant.Open.Request.Add(labels, entry);
                tenant.Open.Acks.Add(entry.Ack);
                if (tenant.Open.Request.ProtobufLength >= Options.BatchSize)
                {
                    await tenant.FlushAsync(_cancellationToken).ConfigureAwait(false);
                }
            }
        }

        private async ValueTask FlushExpiredAsync()
        {
            foreach (var tenant in _tenants.Values)
            {
                if (tenant.Open.Request.EntryCount > 0 && _time.GetElapsedTime(tenant.Open.Started) >= Options.BatchWait)
                {
                    await tenant.FlushAsync(_cancellationToken).ConfigureAwait(false);
                }
            }
        }

        private TimeSpan? NextDeadline()
        {
            TimeSpan? next = null;
            foreach (var tenant in _tenants.Values)
            {
                if (tenant.Open.Request.EntryCount > 0)
                {
                    var left = Options.BatchWait - _time.GetElapsedTime(tenant.Open.Started);
                    left = left < TimeSpan.Zero ? TimeSpan.Zero : left;
                    next = next is null || left < next ? left : next;
                }
            }

            return next;
        }

        private LabelSet MapLabels(LabelSet labels)
        {
            if (_labels.TryGetValue(labels, out var mapped))
            {
                return mapped;
            }

            mapped = labels.WithoutInternal();
            var external = _sink._externalLabels;
            if (external.Count > 0)
            {
                var builder = external.ToBuilder();
                foreach (var label in mapped)
                {
                    builder.Set(label.Name, label.Value);
                }

                mapped = builder.Build();
            }

            if (_labels.Count >= LabelCacheLimit)
            {
                _labels.Clear();
            }

            _labels[labels] = mapped;
            return mapped;
        }

        private Tenant GetTenant(string id)
        {
            if (!_tenants.TryGetValue(id, out var tenant))
            {
                tenant = new Tenant(this, id);
                _tenants.Add(id, tenant);
            }

            return tenant;
        }

        /// <summary>One tenant: the batch being filled, and a sender that sends one batch at a time.</summary>
        private sealed class Tenant : IDisposable
        {
            private readonly Run _run;
            private readonly Channel<Batch> _queue = Channel.CreateBounded<Batch>(new BoundedChannelOptions(1)
            {
                SingleReader = true,
                SingleWriter = true,
                FullMode = BoundedChannelFullMode.Wait,
            });

            private readonly Stack<Batch> _free = new();
            private readonly Lock _freeLock = new();

            public Tenant(Run run, string id)
            {
                _run = run;
                Id = id;
                Open = new Batch();
                Sender = Task.Run(SendLoopAsync);
            }

            public string Id { get; }

            public Batch Open { get; private set; }

            public Task Sender { get; }

            public async ValueTask FlushAsync(CancellationToken cancellationToken)
            {
                if (Open.Request.EntryCount == 0)
                {
                    return;
                }

                var full = Open;
                lock (_freeLock)
                {
                    Open = _free.TryPop(out var reused) ? reused : new Batch();
                }

                await _queue.Writer.WriteAsync(full, cancellationToken).ConfigureAwait(false);
            }

            public void Complete() => _queue.Writer.TryComplete();

            public void Dispose()
            {
                Open.Dispose();
                foreach (var batch in _free)
                {
                    batch.Dispose();
                }
            }

            private async Task SendLoopAsync()
            {
                var cancellationToken = _run._cancellationToken;
                try
                {
                    while (await _queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        while (_queue.Reader.TryRead(out var batch))
                        {
                            await _run.SendAsync(Id, batch).ConfigureAwait(false);
                            batch.Clear();
                            lock (_freeLock)
                            {
                                _free.Push(batch);
                            }
                        }
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // Aborted: unsent entries stay unacknowledged, so their sources do not commit past them.
                }
                catch (Exception e)
                {
                    // Fail the reader's next hand-off rather than leave it waiting on a sender that is gone.
                    _queue.Writer.TryComplete(e);
                    throw;
                }
            }
        }

        private async Task SendAsync(string tenant, Batch batch)
        {
            var count = batch.Request.EntryCount;
            using var body = new PooledBufferWriter();
            if (Options.Format == LokiPushFormat.Protobuf)
            {
                PushBodyEncoder.WriteSnappyProtobuf(batch.Request, body);
            }
            else
            {
                PushBodyEncoder.WriteJson(batch.Request, body, Options.GzipJson);
            }

            _metrics.Batch(batch.Request.ProtobufLength);
            _metrics.InFlight(1);
            try
            {
                var backoff = Options.MinBackoff;
                for (var attempt = 0; ; attempt++)
                {
                    var outcome = await SendOnceAsync(tenant, body.WrittenMemory).ConfigureAwait(false);
                    if (outcome.Status is >= 200 and < 300)
                    {
                        _metrics.Sent(count, body.WrittenCount);
                        _context.Metrics.AddSent(count);
                        batch.Acknowledge();
                        return;
                    }

                    if (outcome.Status is >= 400 and < 500 && outcome.Status != 429)
                    {
                        var reason = $"http_{outcome.Status}";
                        LokiPushLog.Rejected(_context.Logger, _sink._host, count, tenant, outcome.Status, outcome.Detail);
                        Drop(batch, reason);
                        return;
                    }

                    _context.Metrics.AddErrors();
                    if (Options.MaxRetries is { } maxRetries && attempt >= maxRetries)
                    {
                        LokiPushLog.GaveUp(_context.Logger, _sink._host, tenant, attempt, outcome.Describe(), count);
                        Drop(batch, "max_retries");
                        return;
                    }

                    TimeSpan delay;
                    if (outcome.RetryAfter is { } retryAfter)
                    {
                        // A server that says when to come back is up: it is believed, within reason.
                        var ceiling = Options.MaxBackoff > s_maxRetryAfter ? Options.MaxBackoff : s_maxRetryAfter;
                        delay = retryAfter > ceiling ? ceiling : retryAfter;
                    }
                    else
                    {
                        delay = Jitter(backoff);
                        if (delay > Options.MaxBackoff)
                        {
                            // At the cap, spread over its last quarter so that clients that failed together do not retry together.
                            delay = Options.MaxBackoff - TimeSpan.FromTicks((long)(Options.MaxBackoff.Ticks * 0.25 * Random.Shared.NextDouble()));
                        }
                    }

                    backoff = backoff * 2 > Options.MaxBackoff ? Options.MaxBackoff : backoff * 2;
                    _metrics.Retry();
                    LokiPushLog.Retrying(_context.Logger, _sink._host, tenant, outcome.Describe(), attempt + 1, delay);
                    await Task.Delay(delay, _time, _cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                _metrics.InFlight(-1);
            }
        }

        private void Drop(Batch batch, string reason)
        {
            _metrics.Dropped(batch.Request.EntryCount, reason);
            _context.Metrics.AddDropped(batch.Request.EntryCount, reason);
            batch.Acknowledge();
        }

        private static TimeSpan Jitter(TimeSpan backoff) =>

            // Between the backoff and 1.5 times it, so clients that failed together do not retry together.
            backoff + TimeSpan.FromTicks((long)(backoff.Ticks * 0.5 * Random.Shared.NextDouble()));

        private async Task<Outcome> SendOnceAsync(string tenant, ReadOnlyMemory<byte> body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _sink._url)
            {
                Version = Options.HttpVersion,
                VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
                Content = new ReadOnlyMemoryContent(body),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(Options.Format == LokiPushFormat.Protobuf ? LokiPush.ProtobufContentType : LokiPush.JsonContentType);
            if (Options.Format == LokiPushFormat.Json && Options.GzipJson)
            {
                request.Content.Headers.ContentEncoding.Add("gzip");
            }

            if (tenant.Length > 0)
            {
                request.Headers.TryAddWithoutValidation(LokiPush.TenantHeader, tenant);
            }

            foreach (var header in Options.Headers)
            {
                request.Headers.Remove(header.Key);
                request.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            using var timeout = new CancellationTokenSource(Options.Timeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(_cancellationToken, timeout.Token);
            var started = _time.GetTimestamp();
            try
            {
                request.Headers.Authorization = _sink.GetAuthorization();
                using var response = await _sink._client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                _metrics.Request(_time.GetElapsedTime(started).TotalSeconds, status);
                if (status is >= 200 and < 300)
                {
                    return new Outcome(status, null, string.Empty);
                }

                var detail = await ReadDetailAsync(response, linked.Token).ConfigureAwait(false);
                return new Outcome(status, RetryAfter(response), detail);
            }
            catch (Exception e) when (e is HttpRequestException or IOException or UnauthorizedAccessException || (e is OperationCanceledException && !_cancellationToken.IsCancellationRequested))
            {
                _metrics.Request(_time.GetElapsedTime(started).TotalSeconds, 0);
                var detail = e is OperationCanceledException ? $"timed out after {Options.Timeout}" : e.Message;
                return new Outcome(0, null, detail);
            }
        }

        private async Task<string> ReadDetailAsync(HttpResponseMessage response, CancellationToken cancellationToken)
        {
            try
            {
                var limit = Options.MaxErrorBodyLogged;
                var buffer = new byte[limit];
                var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    var read = await stream.ReadAtLeastAsync(buffer, limit, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                    var text = Encoding.UTF8.GetString(buffer, 0, read).Trim();
                    return read == limit ? text + "..." : text;
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException)
            {
                return $"(response body unreadable: {e.Message})";
            }
        }

        private TimeSpan? RetryAfter(HttpResponseMessage response)
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
                var wait = date - _time.GetUtcNow();
                return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
            }

            return null;
        }

        private readonly record struct Outcome(int Status, TimeSpan? RetryAfter, string Detail)
        {
            public string Describe() => Status == 0 ? Detail : $"status {Status}";
        }
    }

    /// <summary>A batch of one tenant: the encoded request and the tokens of its entries.</summary>
    private sealed class Batch : IDisposable
    {
        public PushRequestBuilder Request { get; } = new();

        public List<AckToken> Acks { get; } = [];

        public long Started { get; set; }

        public void Acknowledge() => AckToken.AcknowledgeAll(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(Acks));

        public void Clear()
        {
            Request.Clear();
            Acks.Clear();
        }

        public void Dispose() => Request.Dispose();
    }
}
