using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Aggregator.Distributor;
using Pipeline.Aggregator.Explore;
using Pipeline.Aggregator.Ingester;
using Pipeline.Aggregator.LogQL;
using Pipeline.Aggregator.Querier;
using Pipeline.Diagnostics;
using Pipeline.Loki.Receiver;
using Pipeline.Runtime;
using System.Diagnostics.Metrics;
using Pipeline.Prometheus.Exposition;

namespace Pipeline.Aggregator.Http;

/// <summary>
/// A Loki-compatible single-node server on Kestrel: the push API (<c>/loki/api/v1/push</c>), the query API that Grafana
/// and logcli use, <c>/loki/api/v1/tail</c>, <c>/ready</c>, <c>/metrics</c> and <c>/loki/api/v1/status/buildinfo</c>.
/// </summary>
/// <remarks>
/// <see cref="StartAsync"/> listens first (so <c>/ready</c> answers 503 during WAL replay), then opens the store.
/// <see cref="StopAsync"/> stops accepting requests, lets pushes in flight finish, flushes chunks and closes the WAL.
/// </remarks>
public sealed partial class AggregatorServer : IAsyncDisposable
{
    /// <summary>Room for a 128 KiB query escaped as %XX (three bytes each) and the other parameters.</summary>
    private const int MaxRequestLineBytes = 3 * 128 * 1024 + (16 * 1024);

    private readonly AggregatorServerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TailHub _tails = new();
    private WebApplication? _app;
    private LogIngester? _ingester;
    private LogPipeline? _pipeline;
    private DiscardCounters? _discards;
    private PushEndpoint? _push;
    private volatile bool _ready;
    private int _stopped;

    private AggregatorServer(AggregatorServerOptions options, TimeProvider time, ILoggerFactory loggerFactory)
    {
        _options = options;
        _time = time;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<AggregatorServer>();
        QueryScheduler = new QueryScheduler(options.MaxConcurrentQueriesPerTenant, options.MaxQueuedQueriesPerTenant, options.MaxConcurrentQueries);
    }

    /// <summary>The address the server listens on, e.g. <c>http://127.0.0.1:3100/</c> (with the real port when 0 was asked).</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Whether the WAL has been replayed and pushes and queries are served.</summary>
    public bool IsReady => _ready;

    /// <summary>Where queries wait for their tenant's slots (for tests).</summary>
    internal QueryScheduler QueryScheduler { get; }

    /// <summary>The store (for embedding and tests).</summary>
    public LogIngester Ingester => _ingester ?? throw new InvalidOperationException("The server has not started.");

    /// <summary>Starts listening, replays the WAL, and completes when the server is ready.</summary>
    /// <param name="options">The settings.</param>
    /// <param name="timeProvider">The clock for limits and the ingester; default system time.</param>
    /// <param name="loggerFactory">For log messages; default none.</param>
    /// <param name="cancellationToken">Cancels starting.</param>
    /// <returns>The running server.</returns>
    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    /// <exception cref="IOException">The address is in use or the data folder cannot be used.</exception>
    public static async Task<AggregatorServer> StartAsync(AggregatorServerOptions options, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var server = new AggregatorServer(options, timeProvider ?? TimeProvider.System, loggerFactory ?? NullLoggerFactory.Instance);
        try
        {
            await server.StartCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return server;
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        var endpoint = _options.ParseListenAddress();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(_loggerFactory);
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(endpoint);
            kestrel.Limits.MaxRequestBodySize = null;

            // Grafana sends every query by GET: a query at LogQL's size limit, percent-encoded, must fit the request line.
            kestrel.Limits.MaxRequestLineSize = MaxRequestLineBytes;
            kestrel.Limits.MaxRequestHeadersTotalSize = MaxRequestLineBytes + (64 * 1024);
            kestrel.AddServerHeader = false;
        });
        builder.Services.AddPrometheusMetrics(metrics =>
        {
            metrics.Meters.Add(DiscardCounters.MeterName);
            metrics.Meters.Add(PipelineInstruments.MeterName);
            metrics.TimeProvider = _time;
        });
        builder.Services.AddRoutingCore();

        var app = builder.Build();
        _app = app;
        app.UseWebSockets();
        var tenants = new TenantResolver(_options);
        app.MapGet("/ready", context =>
        {
            context.Response.StatusCode = _ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            return context.Response.WriteAsync(_ready ? "ready\n" : "Ingester not ready: replaying the WAL\n", context.RequestAborted);
        });
        app.MapGet("/loki/api/v1/status/buildinfo", WriteBuildInfoAsync);
        app.MapPrometheusMetrics();

        // Query and push endpoints are bound once the store is open; until then they answer 503.
        RequestDelegate? push = null, tail = null;
        var queries = new QueryApi(tenants, _time, QueryScheduler);
        app.MapPost("/loki/api/v1/push", context => push is null ? NotReadyAsync(context) : push(context));
        app.Map("/loki/api/v1/tail", context => tail is null ? NotReadyAsync(context) : tail(context));
        queries.Map(app);
        ExplorePage.Map(app);

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");

        var ingesterOptions = _options.Ingester ?? new IngesterOptions { DataDirectory = _options.DataDirectory };
        _ingester = await Task.Run(() => LogIngester.Open(ingesterOptions, _time, _loggerFactory), cancellationToken).ConfigureAwait(false);
        ILogQueryStore store = new IngesterQueryStore(_ingester);
        store = _options.WrapQueryStore?.Invoke(store) ?? store;
        var engine = new LogQLEngine(store, _options.Query, _time);
        queries.Attach(engine, _ingester);

        // The write path is a pipeline of the library's own stages: push receiver -> distributor -> ingester.
        var meters = app.Services.GetService<IMeterFactory>();
        _discards = new DiscardCounters(meters);
        var limits = new DistributorLimitsByTenant(_options.Limits, _options.TenantLimits);
        queries.LimitsFor = limits.For;
        queries.QueryOptions = _options.Query;
        var receiver = new LokiPushReceiver(new LokiPushReceiverOptions
        {
            MaxRequestBodyBytes = _options.MaxRequestBodyBytes,
            MaxDecompressedBodyBytes = (int)Math.Min(int.MaxValue, _options.MaxDecompressedBodyBytes),
            ResolveTenant = tenants.Resolve,
            OnRequestTooLarge = (tenant, bytes) => _discards.Add(tenant ?? AggregatorServerOptions.SingleTenantId, DiscardReason.RequestBodyTooLarge, 0, bytes),
        });
        var validation = new PushValidationStage(limits, _time, _discards);
        _pipeline = LogPipeline.Create(new PipelineOptions { Name = "aggregator", TimeProvider = _time, LoggerFactory = _loggerFactory, MeterFactory = meters })
            .From(receiver, "push")
            .Then(validation, "validate")
            .Then(new TenantRateLimitStage(limits, _time, _discards, validation), "tenant-rate-limit")
            .Then(new StreamLimitStage(limits, _time, _discards), "stream-limits")
            .Then(new DiscoveryStage(limits, _time, _discards), "discovery")
            .To(new IngesterSink(_ingester, _tails, _discards, AggregatorServerOptions.SingleTenantId), "ingester")
            .Build();
        await _pipeline.StartAsync(cancellationToken).ConfigureAwait(false);
        await receiver.Started.WaitAsync(cancellationToken).ConfigureAwait(false);
        _push = new PushEndpoint(receiver, _options, () => _ready);
        push = _push.HandleAsync;
        tail = new TailEndpoint(engine, _tails, tenants, queries, _options.Query, app.Lifetime.ApplicationStopping).HandleAsync;
        _ready = true;
        LogListening(_logger, BaseAddress, ingesterOptions.DataDirectory);
    }

    internal static Task NotReadyAsync(HttpContext context) =>
        QueryApi.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "Ingester not ready: replaying the WAL");

    private static Task WriteBuildInfoAsync(HttpContext context)
    {
        var version = typeof(AggregatorServer).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(
            $"{{\"version\":\"{version}\",\"revision\":\"\",\"branch\":\"\",\"buildDate\":\"\",\"buildUser\":\"\",\"goVersion\":\"\"}}",
            context.RequestAborted);
    }

    /// <summary>Stops accepting requests, waits for requests in flight, flushes chunks (when configured) and closes the store.</summary>
    /// <param name="cancellationToken">Cuts the wait for requests in flight short.</param>
    /// <returns>A task that completes when stopped.</returns>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _ready = false;
        if (_app is not null)
        {
            try
            {
                await _app.StopAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Requests still running are cut; the store below is still closed cleanly.
            }
        }

        if (_pipeline is not null)
        {
            // Sources stop, the distributor drains, the ingester sink acknowledges what it stored.
            await _pipeline.StopAsync(cancellationToken).ConfigureAwait(false);
            await _pipeline.DisposeAsync().ConfigureAwait(false);
        }

        if (_ingester is not null)
        {
            if (_options.FlushOnShutdown)
            {
                try
                {
                    await _ingester.FlushAsync(all: true, CancellationToken.None).ConfigureAwait(false);
                }
                catch (IOException ex)
                {
                    // The WAL still holds everything; it is replayed on the next start.
                    LogFlushFailed(_logger, ex);
                }
            }

            await _ingester.DisposeAsync().ConfigureAwait(false);
        }

        _discards?.Dispose();
        _push?.Dispose();
    }

    /// <summary>Stops (see <see cref="StopAsync"/>) and releases the server.</summary>
    /// <returns>A task that completes when released.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Aggregator listening on {Address}, data in {Directory}")]
    private static partial void LogListening(ILogger logger, Uri address, string directory);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Flushing chunks at shutdown failed; the WAL will be replayed on the next start")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);
}
