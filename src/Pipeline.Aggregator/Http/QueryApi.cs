using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Pipeline.Aggregator.Ingester;
using Pipeline.Aggregator.LogQL;
using Pipeline.LogQL;
using Pipeline.Model;

namespace Pipeline.Aggregator.Http;

/// <summary>Loki's read API over the ingester: query, query_range, labels, series, index stats/volume, detected fields/labels.</summary>
internal sealed partial class QueryApi
{
    /// <summary>The largest form body of a read request: room for a query at the size limit, percent-encoded, and its parameters.</summary>
    internal const long MaxFormBodyBytes = 1024 * 1024;

    private const string RequestTooLarge = "request body too large";
    private const int DefaultLimit = 100;
    private const long DefaultSinceNs = 3_600_000_000_000;
    private const long InstantLogLookBackNs = 30_000_000_000;

    private readonly TenantResolver _tenants;
    private readonly TimeProvider _time;
    private LogQLEngine? _engineOrNull;
    private LogIngester? _ingesterOrNull;

    public QueryApi(TenantResolver tenants, TimeProvider time, QueryScheduler scheduler)
    {
        _tenants = tenants;
        _time = time;
        Scheduler = scheduler;
    }

    /// <summary>Where queries wait for and take their tenant's slots.</summary>
    public QueryScheduler Scheduler { get; }

    private LogQLEngine Engine => _engineOrNull!;

    internal LogIngester Store => _ingesterOrNull!;

    private bool Ready => Volatile.Read(ref _ingesterOrNull) is not null;

    /// <summary>Binds the store once the WAL is replayed; until then every endpoint answers 503.</summary>
    public void Attach(LogQLEngine engine, LogIngester ingester)
    {
        _engineOrNull = engine;
        Volatile.Write(ref _ingesterOrNull, ingester);
    }

    public void Map(IEndpointRouteBuilder app)
    {
        string[] methods = ["GET", "POST"];
        app.MapMethods("/loki/api/v1/query_range", methods, Guarded(QueryRangeAsync));
        app.MapMethods("/loki/api/v1/query", methods, Guarded(QueryAsync));
        app.MapMethods("/loki/api/v1/labels", methods, Guarded(LabelsAsync));
        app.MapMethods("/loki/api/v1/label", methods, Guarded(LabelsAsync));
        app.MapMethods("/loki/api/v1/label/{name}/values", methods, Guarded(LabelValuesAsync));
        app.MapMethods("/loki/api/v1/series", methods, Guarded(SeriesAsync));
        var stats = new IndexStatsApi(this);
        app.MapMethods("/loki/api/v1/index/stats", methods, Guarded(stats.StatsAsync));
        app.MapMethods("/loki/api/v1/index/volume", methods, Guarded(context => stats.VolumeAsync(context, range: false)));
        app.MapMethods("/loki/api/v1/index/volume_range", methods, Guarded(context => stats.VolumeAsync(context, range: true)));
        app.MapMethods("/loki/api/v1/detected_labels", methods, Guarded(DetectedLabelsAsync));
        app.MapMethods("/loki/api/v1/detected_fields", methods, Guarded(DetectedFieldsAsync));
        app.MapMethods("/loki/api/v1/patterns", methods, Guarded(new PatternsApi(this).HandleAsync));
        app.MapMethods("/loki/api/v1/detected_field/{name}/values", methods, Guarded(DetectedFieldValuesAsync));
        app.MapGet("/loki/api/v1/drilldown-limits", Guarded(DrilldownLimitsAsync));
        app.MapMethods("/loki/api/v1/format_query", methods, Guarded(FormatQueryAsync));
    }

    /// <summary>
    /// What every read endpoint shares: a form body over <see cref="MaxFormBodyBytes"/> is 413 before it is read, a query
    /// string that is not UTF-8 is 400, and a form that cannot be read is 400 or 413 instead of an unhandled error.
    /// </summary>
    private static RequestDelegate Guarded(RequestDelegate handler) => async context =>
    {
        if (context.Request.ContentLength > MaxFormBodyBytes)
        {
            await WriteErrorAsync(context, StatusCodes.Status413PayloadTooLarge, RequestTooLarge).ConfigureAwait(false);
            return;
        }

        var bodyLimit = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (bodyLimit is { IsReadOnly: false })
        {
            bodyLimit.MaxRequestBodySize = MaxFormBodyBytes;
        }

        if (!QueryParameters.IsValidUtf8Query(context.Request.QueryString.Value))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid UTF-8 encoding").ConfigureAwait(false);
            return;
        }

        try
        {
            await handler(context).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            var status = ex.StatusCode == StatusCodes.Status413PayloadTooLarge ? ex.StatusCode : StatusCodes.Status400BadRequest;
            await WriteErrorAsync(context, status, status == StatusCodes.Status413PayloadTooLarge ? RequestTooLarge : ex.Message).ConfigureAwait(false);
        }
        catch (InvalidDataException ex) when (!context.Response.HasStarted)
        {
            // The form reader's own limits (value length, value count) or a malformed form.
            var tooLarge = ex.Message.Contains("limit", StringComparison.OrdinalIgnoreCase);
            await WriteErrorAsync(context, tooLarge ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status400BadRequest, tooLarge ? RequestTooLarge + ": " + ex.Message : ex.Message).ConfigureAwait(false);
        }
    };

    internal long NowNs => (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;

    internal TimeProvider Time => _time;

    internal static async Task<string?> ParamAsync(HttpContext context, string name)
    {
        var value = context.Request.Query[name];
        if (value.Count > 0)
        {
            return value[0];
        }

        if (context.Request.HasFormContentType)
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
            var field = form[name];
            if (field.Count > 0)
            {
                return field[0];
            }
        }

        return null;
    }

    internal static async Task<List<string>> ParamsAsync(HttpContext context, string name)
    {
        var result = new List<string>();
        foreach (var value in context.Request.Query[name])
        {
            if (!string.IsNullOrEmpty(value))
            {
                result.Add(value);
            }
        }

        if (context.Request.HasFormContentType)
        {
            var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
            foreach (var value in form[name])
            {
                if (!string.IsNullOrEmpty(value))
                {
                    result.Add(value);
                }
            }
        }

        return result;
    }

    internal static Task WriteErrorAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message + "\n", context.RequestAborted);
    }

    internal static async Task WriteJsonAsync<TState>(HttpContext context, TState state, Action<Utf8JsonWriter, TState> write)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json; charset=utf-8";
        var writer = new Utf8JsonWriter(context.Response.BodyWriter, LokiJson.WriterOptions);
        await using (writer.ConfigureAwait(false))
        {
            write(writer, state);
            await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    private static void WriteQueryResponse(Utf8JsonWriter writer, (QueryResult Result, CategorizedLabels.Shape Shape) answer)
    {
        var (result, shape) = answer;
        writer.WriteStartObject();
        writer.WriteString("status"u8, "success"u8);
        writer.WritePropertyName("data"u8);
        writer.WriteStartObject();
        writer.WriteString("resultType"u8, result.ResultType);
        if (shape.Categorize)
        {
            CategorizedLabels.WriteFlags(writer);
        }

        writer.WritePropertyName("result"u8);
        if (shape.Categorize && result is StreamsResult streams)
        {
            CategorizedLabels.WriteStreams(writer, streams, shape.Direction);
        }
        else
        {
            LokiJson.WriteResult(writer, result);
        }

        writer.WritePropertyName("stats"u8);
        LokiJson.WriteStats(writer, result.Statistics);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static void WriteStringData(Utf8JsonWriter writer, IEnumerable<string> values)
    {
        writer.WriteStartObject();
        writer.WriteString("status"u8, "success"u8);
        writer.WritePropertyName("data"u8);
        writer.WriteStartArray();
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>
    /// Runs a query in its tenant's turn (see <see cref="QueryScheduler"/>), cancelled when the client goes away, with
    /// Loki's error mapping: bad queries 400 with the message, a full queue 429, time-outs 504.
    /// </summary>
    private async Task RunAsync(HttpContext context, string tenant, Func<CancellationToken, QueryResult> run)
    {
        QueryResult result;
        try
        {
            var (admitted, answer) = await Scheduler.RunAsync(tenant, run, context.RequestAborted).ConfigureAwait(false);
            if (!admitted)
            {
                await WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, QueryScheduler.TooManyOutstandingRequests).ConfigureAwait(false);
                return;
            }

            result = answer!;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away: nothing to answer.
            return;
        }
        catch (LogQLTimeoutException ex)
        {
            await WriteErrorAsync(context, StatusCodes.Status504GatewayTimeout, ex.Message).ConfigureAwait(false);
            return;
        }
        catch (LogQLException ex)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, ex.Message).ConfigureAwait(false);
            return;
        }

        var shape = await CategorizedLabels.ShapeAsync(context).ConfigureAwait(false);
        await WriteJsonAsync(context, (result, shape), WriteQueryResponse).ConfigureAwait(false);
    }

    internal async Task<(bool Ok, string Tenant, long Start, long End)> BoundsAsync(HttpContext context)
    {
        if (!Ready)
        {
            await AggregatorServer.NotReadyAsync(context).ConfigureAwait(false);
            return default;
        }

        if (!_tenants.TryResolveForQuery(context, out var tenant, out var status, out var error))
        {
            await WriteErrorAsync(context, status, error).ConfigureAwait(false);
            return default;
        }

        if (!QueryParameters.TryParseTime(await ParamAsync(context, "end").ConfigureAwait(false), NowNs, out var end, out error)
            || !QueryParameters.TryParseTime(await ParamAsync(context, "start").ConfigureAwait(false), end - DefaultSinceNs, out var start, out error))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, error!).ConfigureAwait(false);
            return default;
        }

        if (end < start)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "end timestamp must not be before or equal to start time").ConfigureAwait(false);
            return default;
        }

        return (true, tenant, start, end);
    }

    private async Task QueryRangeAsync(HttpContext context)
    {
        var (ok, tenant, start, end) = await BoundsAsync(context).ConfigureAwait(false);
        if (!ok)
        {
            return;
        }

        var query = await ParamAsync(context, "query").ConfigureAwait(false);
        var stepText = await ParamAsync(context, "step").ConfigureAwait(false);
        long step = QueryParameters.DefaultStep(start, end);
        string? error = null;
        if ((!string.IsNullOrEmpty(stepText) && !QueryParameters.TryParseDuration(stepText, out step, out error))
            || !QueryParameters.TryParseLimit(await ParamAsync(context, "limit").ConfigureAwait(false), DefaultLimit, out var limit, out error)
            || !QueryParameters.TryParseDirection(await ParamAsync(context, "direction").ConfigureAwait(false), out var direction, out error))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, error!).ConfigureAwait(false);
            return;
        }

        if (step <= 0)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "zero or negative query resolution step widths are not accepted. Try a positive integer").ConfigureAwait(false);
            return;
        }

        if (string.IsNullOrEmpty(query))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "query parameter is required").ConfigureAwait(false);
            return;
        }

        await RunAsync(context, tenant, cancellationToken =>
        {
            // Like Loki's query frontend, a metric range query runs from start rounded down to end rounded up to the step.
            var parsed = LogQLQuery.Parse(query);
            var (from, to) = parsed.IsLogQuery ? (start, end) : QueryParameters.AlignToStep(start, end, step);
            return Engine.QueryRange(tenant, parsed, from, to, step, limit, direction, cancellationToken);
        }).ConfigureAwait(false);
    }

    private async Task QueryAsync(HttpContext context)
    {
        if (!Ready)
        {
            await AggregatorServer.NotReadyAsync(context).ConfigureAwait(false);
            return;
        }

        if (!_tenants.TryResolveForQuery(context, out var tenant, out var status, out var error))
        {
            await WriteErrorAsync(context, status, error).ConfigureAwait(false);
            return;
        }

        var query = await ParamAsync(context, "query").ConfigureAwait(false);
        if (!QueryParameters.TryParseTime(await ParamAsync(context, "time").ConfigureAwait(false), NowNs, out var time, out var parseError)
            || !QueryParameters.TryParseLimit(await ParamAsync(context, "limit").ConfigureAwait(false), DefaultLimit, out var limit, out parseError)
            || !QueryParameters.TryParseDirection(await ParamAsync(context, "direction").ConfigureAwait(false), out var direction, out parseError))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, parseError!).ConfigureAwait(false);
            return;
        }

        if (string.IsNullOrEmpty(query))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "query parameter is required").ConfigureAwait(false);
            return;
        }

        await RunAsync(context, tenant, cancellationToken =>
        {
            var parsed = LogQLQuery.Parse(query);

            // Like Loki (max_look_back_period), an instant log query reads the 30 s before the given time.
            return parsed.IsLogQuery
                ? Engine.QueryRange(tenant, parsed, time - InstantLogLookBackNs, time, 0, limit, direction, cancellationToken)
                : Engine.QueryInstant(tenant, parsed, time, cancellationToken);
        }).ConfigureAwait(false);
    }

    /// <summary>The streams of the tenant in the range, matching the optional <c>query</c> (400 if it does not parse).</summary>
    private async Task<(bool Ok, string Tenant, long Start, long End, List<LabelSet> Streams)> StreamsAsync(HttpContext context, string parameter)
    {
        var (ok, tenant, start, end) = await BoundsAsync(context).ConfigureAwait(false);
        if (!ok)
        {
            return default;
        }

        var selectors = await ParamsAsync(context, parameter).ConfigureAwait(false);
        if (parameter == "match[]")
        {
            selectors.AddRange(await ParamsAsync(context, "match").ConfigureAwait(false));
        }

        var found = new HashSet<LabelSet>();
        try
        {
            if (selectors.Count == 0)
            {
                found.UnionWith(Store.SelectStreams(tenant, [], start, end + 1));
            }

            foreach (var selector in selectors)
            {
                foreach (var matchers in SelectorsOf(selector))
                {
                    found.UnionWith(Store.SelectStreams(tenant, matchers, start, end + 1));
                }
            }
        }
        catch (LogQLException ex)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, ex.Message).ConfigureAwait(false);
            return default;
        }

        var streams = found.ToList();
        streams.Sort(static (a, b) => string.CompareOrdinal(a.ToString(), b.ToString()));
        return (true, tenant, start, end, streams);
    }

    internal static IReadOnlyList<IReadOnlyList<LabelMatcher>> SelectorsOf(string query)
    {
        try
        {
            return [LogQLQuery.ParseSelector(query)];
        }
        catch (LogQLParseException)
        {
            return LogQLQuery.Parse(query).GetSelectors();
        }
    }

    private async Task LabelsAsync(HttpContext context)
    {
        var (ok, _, _, _, streams) = await StreamsAsync(context, "query").ConfigureAwait(false);
        if (!ok)
        {
            return;
        }

        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var stream in streams)
        {
            foreach (var label in stream)
            {
                names.Add(label.Name);
            }
        }

        await WriteJsonAsync(context, names, WriteStringData).ConfigureAwait(false);
    }

    private async Task LabelValuesAsync(HttpContext context)
    {
        var name = context.Request.RouteValues["name"] as string ?? string.Empty;
        var (ok, _, _, _, streams) = await StreamsAsync(context, "query").ConfigureAwait(false);
        if (!ok)
        {
            return;
        }

        var values = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var stream in streams)
        {
            if (stream[name] is { } value)
            {
                values.Add(value);
            }
        }

        await WriteJsonAsync(context, values, WriteStringData).ConfigureAwait(false);
    }

    private async Task SeriesAsync(HttpContext context)
    {
        var (ok, _, _, _, streams) = await StreamsAsync(context, "match[]").ConfigureAwait(false);
        if (!ok)
        {
            return;
        }

        await WriteJsonAsync(context, streams, static (writer, streams) =>
        {
            writer.WriteStartObject();
            writer.WriteString("status"u8, "success"u8);
            writer.WritePropertyName("data"u8);
            writer.WriteStartArray();
            foreach (var stream in streams)
            {
                LokiJson.WriteLabels(writer, stream);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }
}
