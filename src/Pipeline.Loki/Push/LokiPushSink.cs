using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Pipeline.Delivery;
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
/// The Loki wire format on the delivery layer (<see cref="DeliveryBatcher{TBatch}"/>, <see cref="HttpDeliveryClient"/>).
/// Each tenant has one batch in flight at a time, so a stream's entries always arrive in order, and its own queue of
/// full batches: while one tenant's batch is retried the others go on, and the sink stops reading its input only once
/// that tenant's queue is full. That backpressure, not memory, absorbs an outage.
/// Internal (<c>__</c>) labels are removed and <see cref="LokiPushSinkOptions.ExternalLabels"/> added before sending.
/// </remarks>
public sealed class LokiPushSink : ILogSink, IDisposable
{
    private static readonly Meter s_defaultMeter = new(LokiPushInstruments.MeterName);
    private static readonly DeliveryInstrumentNames s_names = new("pipeline.loki", "entries");
    private static readonly MediaTypeHeaderValue s_protobuf = new(LokiPush.ProtobufContentType);
    private static readonly MediaTypeHeaderValue s_json = new(LokiPush.JsonContentType);

    private readonly LokiPushSinkOptions _options;
    private readonly LabelSet _externalLabels;
    private readonly HttpDeliveryClient _client;
    private readonly DeliveryBatcherOptions _batching;
    private readonly Meter _meter;

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
        _meter = meter ?? s_defaultMeter;
        _client = new HttpDeliveryClient(options.Url!, options.ToDeliveryOptions(), handler);
        _batching = new DeliveryBatcherOptions { BatchWait = options.BatchWait, BatchSize = options.BatchSize };
    }

    /// <inheritdoc/>
    public async Task RunAsync(ChannelReader<EntryChunk> input, ComponentContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(context);
        var metrics = new DeliveryMetrics(context.Metrics, _meter, s_names, context.PipelineName, context.Name, _client.Host);
        var run = new Run(this, context, metrics, cancellationToken);
        await run.Batcher.RunAsync(input, run.AddAsync).ConfigureAwait(false);
    }

    /// <summary>Disposes the HTTP client.</summary>
    public void Dispose() => _client.Dispose();

    /// <summary>The state of one <see cref="RunAsync"/>: the label cache and the batcher of the tenants.</summary>
    private sealed class Run
    {
        private const int LabelCacheLimit = 10_000;

        private readonly LokiPushSink _sink;
        private readonly ComponentContext _context;
        private readonly DeliveryMetrics _metrics;
        private readonly Dictionary<LabelSet, LabelSet> _labels = [];

        public Run(LokiPushSink sink, ComponentContext context, DeliveryMetrics metrics, CancellationToken cancellationToken)
        {
            _sink = sink;
            _context = context;
            _metrics = metrics;
            Batcher = new DeliveryBatcher<Batch>(sink._batching, static () => new Batch(), SendAsync, context.TimeProvider, cancellationToken);
        }

        public DeliveryBatcher<Batch> Batcher { get; }

        private LokiPushSinkOptions Options => _sink._options;

        public async ValueTask AddAsync(EntryChunk chunk)
        {
            try
            {
                for (var i = 0; i < chunk.Count; i++)
                {
                    await AddAsync(chunk[i]).ConfigureAwait(false);
                }
            }
            finally
            {
                chunk.Release();
            }
        }

        private async ValueTask AddAsync(LogEntry entry)
        {
            var tenant = entry.Tenant ?? Options.TenantId ?? string.Empty;
            var labels = MapLabels(entry.Labels);
            var metadataBytes = 0;
            for (var m = 0; m < entry.Metadata.Count; m++)
            {
                metadataBytes += (entry.Metadata.NameAt(m).Length * 3) + entry.Metadata.ValueAt(m).Length;
            }

            var batch = Batcher.Open(tenant);
            var growth = batch.Request.EstimateGrowth(labels, entry.LineLength, metadataBytes, entry.Metadata.Count);
            if (growth > Options.MaxRequestSize)
            {
                LokiPushLog.TooLarge(_context.Logger, growth, Options.MaxRequestSize);
                _metrics.Dropped(1, "entry_too_large");
                entry.Ack.Acknowledge();
                return;
            }

            if (batch.Count > 0 && batch.Request.ProtobufLength + growth > Options.MaxRequestSize)
            {
                await Batcher.FlushAsync(tenant).ConfigureAwait(false);
                batch = Batcher.Open(tenant);
            }

            batch.Request.Add(labels, entry);
            batch.Added(entry.Ack);
            await Batcher.AddedAsync(tenant).ConfigureAwait(false);
        }

        private async Task<DeliveryResult> SendAsync(string tenant, Batch batch, CancellationToken cancellationToken)
        {
            using var body = new PooledBufferWriter();
            var json = Options.Format == LokiPushFormat.Json;
            if (json)
            {
                PushBodyEncoder.WriteJson(batch.Request, body, Options.GzipJson);
            }
            else
            {
                PushBodyEncoder.WriteSnappyProtobuf(batch.Request, body);
            }

            _metrics.Batch(batch.Request.ProtobufLength);
            var request = new DeliveryRequest(body.WrittenMemory, batch.Count)
            {
                ContentType = json ? s_json : s_protobuf,
                ContentEncoding = json && Options.GzipJson ? "gzip" : null,
                Key = tenant,
                KeyHeader = LokiPush.TenantHeader,
            };
            return await _sink._client.SendAsync(request, _metrics, _context.TimeProvider, _context.Logger, cancellationToken).ConfigureAwait(false);
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
    }

    /// <summary>A batch of one tenant: the encoded request (the layer holds the tokens of its entries).</summary>
    private sealed class Batch : DeliveryBatch, IDisposable
    {
        public PushRequestBuilder Request { get; } = new();

        public override long Size => Request.ProtobufLength;

        public void Dispose() => Request.Dispose();

        protected override void Clear() => Request.Clear();
    }
}
