using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Aggregator.Distributor;
using Pipeline.Aggregator.LogQL;
using Pipeline.LogQL;
using Pipeline.Model;

namespace Pipeline.Aggregator.Http;

/// <summary>
/// The endpoints Grafana's Logs Drilldown calls besides queries: <c>detected_labels</c>, <c>detected_fields</c>,
/// <c>detected_field/{name}/values</c>, <c>drilldown-limits</c>, and <c>format_query</c>, in Loki's shapes.
/// </summary>
internal sealed partial class QueryApi
{
    /// <summary>The distributor limits of a tenant, for <c>drilldown-limits</c> (set by the server).</summary>
    internal Func<string?, DistributorLimits>? LimitsFor { get; set; }

    /// <summary>The query limits, for <c>drilldown-limits</c> (set by the server).</summary>
    internal LogQLEngineOptions QueryOptions { get; set; } = new();

    /// <summary>Labels Loki's <c>detected_labels</c> keeps even when all their values look like IDs.</summary>
    private static readonly string[] s_staticLabels = ["cluster", "namespace", "instance", "pod"];

    /// <summary>
    /// Loki's <c>detected_labels</c>: the labels of the streams matching <c>query</c> (all streams when it is empty) with
    /// their cardinality, leaving out labels all of whose values are numbers or UUIDs (IDs; two values that are 0 and 1
    /// are a boolean and kept), except Loki's static labels.
    /// </summary>
    private async Task DetectedLabelsAsync(HttpContext context)
    {
        var (ok, tenant, start, end) = await BoundsAsync(context).ConfigureAwait(false);
        if (!ok)
        {
            return;
        }

        var query = await ParamAsync(context, "query").ConfigureAwait(false);
        IReadOnlyList<LabelMatcher> matchers = [];
        if (!string.IsNullOrWhiteSpace(query) && query.Trim() != "{}")
        {
            try
            {
                matchers = LogQLQuery.ParseSelector(query);
            }
            catch (LogQLException ex)
            {
                await WriteErrorAsync(context, StatusCodes.Status400BadRequest, ex.Message).ConfigureAwait(false);
                return;
            }
        }

        var values = new SortedDictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var stream in Store.SelectStreams(tenant, matchers, start, end + 1))
        {
            foreach (var label in stream)
            {
                if (!values.TryGetValue(label.Name, out var set))
                {
                    set = new HashSet<string>(StringComparer.Ordinal);
                    values[label.Name] = set;
                }

                set.Add(label.Value);
            }
        }

        var kept = values.Where(pair => Array.IndexOf(s_staticLabels, pair.Key) >= 0 || !LooksLikeIds(pair.Value)).ToList();
        await WriteJsonAsync(context, kept, static (writer, kept) =>
        {
            writer.WriteStartObject();
            writer.WritePropertyName("detectedLabels"u8);
            writer.WriteStartArray();
            foreach (var (name, set) in kept)
            {
                writer.WriteStartObject();
                writer.WriteString("label"u8, name);
                writer.WriteNumber("cardinality"u8, set.Count);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>Loki's <c>shouldRejectLabel</c>: no values, or every value a number or a UUID (but not just 0 and 1).</summary>
    internal static bool LooksLikeIds(IReadOnlyCollection<string> values)
    {
        if (values.Count == 0)
        {
            return true;
        }

        if (values.Count <= 2 && values.All(v => v is "0" or "1"))
        {
            return false;
        }

        return values.All(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _) || Guid.TryParse(v, out _));
    }

    /// <summary>Loki's <c>detected_fields</c>: the fields of the last <c>line_limit</c> (default 100) entries of a log query.</summary>
    private async Task DetectedFieldsAsync(HttpContext context) => await DetectedFieldsAsync(context, valuesOf: null).ConfigureAwait(false);

    /// <summary>Loki's <c>detected_field/{name}/values</c>: the distinct values of one field in those entries.</summary>
    private async Task DetectedFieldValuesAsync(HttpContext context) =>
        await DetectedFieldsAsync(context, context.Request.RouteValues["name"] as string ?? string.Empty).ConfigureAwait(false);

    private async Task DetectedFieldsAsync(HttpContext context, string? valuesOf)
    {
        var (ok, tenant, start, end) = await BoundsAsync(context).ConfigureAwait(false);
        if (!ok)
        {
            return;
        }

        var query = await ParamAsync(context, "query").ConfigureAwait(false) ?? "{}";
        var limitText = await ParamAsync(context, "limit").ConfigureAwait(false);
        if (string.IsNullOrEmpty(limitText))
        {
            limitText = await ParamAsync(context, "field_limit").ConfigureAwait(false);
        }

        if (!QueryParameters.TryParseLimit(await ParamAsync(context, "line_limit").ConfigureAwait(false), DefaultLimit, out var lineLimit, out var error)
            || !QueryParameters.TryParseLimit(limitText, 1000, out var limit, out error))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, error!).ConfigureAwait(false);
            return;
        }

        StreamsResult result;
        try
        {
            var (admitted, answer) = await Scheduler.RunAsync(tenant, cancellationToken =>
            {
                var parsed = LogQLQuery.Parse(query);
                if (!parsed.IsLogQuery)
                {
                    throw new LogQLException("detected_fields needs a log query");
                }

                return Engine.QueryRange(tenant, parsed, start, end + 1, 0, lineLimit, Direction.Backward, cancellationToken);
            }, context.RequestAborted).ConfigureAwait(false);
            if (!admitted)
            {
                await WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, QueryScheduler.TooManyOutstandingRequests).ConfigureAwait(false);
                return;
            }

            result = (StreamsResult)answer!;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        catch (LogQLException ex)
        {
            await WriteErrorAsync(context, ex is LogQLTimeoutException ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status400BadRequest, ex.Message).ConfigureAwait(false);
            return;
        }

        // As Loki reads its categorized answer: streams by their stream labels, each newest first.
        var entries = result.Streams
            .SelectMany(s => s.Entries.Select(e => (e, CategorizedLabels.Categorize(s.Labels, e.StreamLabels, e.StructuredMetadata))))
            .OrderBy(x => x.Item2.Stream.ToString(), StringComparer.Ordinal)
            .ThenByDescending(x => x.e.TimestampNs)
            .ToList();
        if (valuesOf is not null)
        {
            var values = DetectedFields.ValuesOf(valuesOf, limit, entries);
            await WriteJsonAsync(context, (values, limit), static (writer, s) =>
            {
                writer.WriteStartObject();
                if (s.values.Count > 0)
                {
                    writer.WritePropertyName("values"u8);
                    writer.WriteStartArray();
                    foreach (var value in s.values)
                    {
                        writer.WriteStringValue(value);
                    }

                    writer.WriteEndArray();
                    writer.WriteNumber("limit"u8, s.limit);
                }

                writer.WriteEndObject();
            }).ConfigureAwait(false);
            return;
        }

        var fields = new DetectedFields(limit);
        foreach (var (entry, labels) in entries)
        {
            fields.Add(entry, labels);
        }

        await WriteJsonAsync(context, (fields.Fields, limit), static (writer, s) =>
        {
            writer.WriteStartObject();
            if (s.Fields.Count > 0)
            {
                writer.WritePropertyName("fields"u8);
                writer.WriteStartArray();
                foreach (var (name, field) in s.Fields)
                {
                    writer.WriteStartObject();
                    writer.WriteString("label"u8, name);
                    writer.WriteString("type"u8, field.Type);
                    writer.WriteNumber("cardinality"u8, field.Values.Count);
                    writer.WritePropertyName("parsers"u8);
                    if (field.Parsers.Count == 0)
                    {
                        // Structured metadata: Loki writes null, which Drilldown shows as "structuredMetadata".
                        writer.WriteNullValue();
                    }
                    else
                    {
                        writer.WriteStartArray();
                        foreach (var parser in field.Parsers)
                        {
                            writer.WriteStringValue(parser);
                        }

                        writer.WriteEndArray();
                    }

                    if (field.JsonPath is { Count: > 0 } path)
                    {
                        writer.WritePropertyName("jsonPath"u8);
                        writer.WriteStartArray();
                        foreach (var key in path)
                        {
                            writer.WriteStringValue(key);
                        }

                        writer.WriteEndArray();
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteNumber("limit"u8, s.limit);
            }

            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>
    /// Loki's <c>drilldown-limits</c>: the limits Drilldown reads (Loki's published list), whether patterns are served, and
    /// the version.
    /// </summary>
    private async Task DrilldownLimitsAsync(HttpContext context)
    {
        if (!_tenants.TryResolveForQuery(context, out var tenant, out var status, out var error))
        {
            await WriteErrorAsync(context, status, error).ConfigureAwait(false);
            return;
        }

        var limits = LimitsFor?.Invoke(tenant) ?? new DistributorLimits();
        var version = typeof(QueryApi).Assembly.GetName().Version?.ToString(3) ?? "unknown";
        var patterns = context.RequestServices.GetServices<EndpointDataSource>()
            .SelectMany(source => source.Endpoints).OfType<RouteEndpoint>()
            .Any(endpoint => endpoint.RoutePattern.RawText == "/loki/api/v1/patterns");
        await WriteJsonAsync(context, (limits, Options: QueryOptions, version, patterns), static (writer, s) =>
        {
            writer.WriteStartObject();
            writer.WritePropertyName("limits"u8);
            writer.WriteStartObject();
            writer.WriteBoolean("discover_log_levels"u8, s.limits.DiscoverLogLevels);
            writer.WritePropertyName("discover_service_name"u8);
            writer.WriteStartArray();
            foreach (var name in s.limits.DiscoverServiceName)
            {
                writer.WriteStringValue(name);
            }

            writer.WriteEndArray();
            writer.WritePropertyName("log_level_fields"u8);
            writer.WriteStartArray();
            foreach (var name in DiscoveryStage.LevelFields)
            {
                writer.WriteStringValue(name);
            }

            writer.WriteEndArray();
            writer.WriteNumber("max_entries_limit_per_query"u8, s.Options.MaxEntriesLimit);
            writer.WriteBoolean("max_line_size_truncate"u8, false);
            writer.WriteString("max_query_bytes_read"u8, "0B"u8);
            writer.WriteString("max_query_length"u8, PrometheusDuration(s.Options.MaxQueryLength));
            writer.WriteString("max_query_lookback"u8, "0s"u8);
            writer.WriteString("max_query_range"u8, "0s"u8);
            writer.WriteNumber("max_query_series"u8, s.Options.MaxSeries);
            writer.WriteBoolean("metric_aggregation_enabled"u8, false);
            writer.WriteBoolean("pattern_persistence_enabled"u8, false);
            writer.WriteString("query_timeout"u8, PrometheusDuration(s.Options.Timeout));
            writer.WriteString("retention_period"u8, "0s"u8);
            writer.WriteBoolean("volume_enabled"u8, true);
            writer.WriteNumber("volume_max_series"u8, 1000);
            writer.WriteEndObject();
            writer.WriteBoolean("pattern_ingester_enabled"u8, s.patterns);
            writer.WriteString("version"u8, s.version);
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>Loki's <c>format_query</c>: the query in its canonical form, or <c>invalid-query</c> with the parse error (400).</summary>
    private static async Task FormatQueryAsync(HttpContext context)
    {
        var query = await ParamAsync(context, "query").ConfigureAwait(false) ?? string.Empty;
        string? formatted = null;
        string? error = null;
        try
        {
            formatted = LogQLQuery.Parse(query).ToString();
        }
        catch (LogQLException ex)
        {
            error = ex.Message;
        }

        context.Response.StatusCode = error is null ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest;
        context.Response.ContentType = "application/json; charset=utf-8";
        var writer = new Utf8JsonWriter(context.Response.BodyWriter, LokiJson.WriterOptions);
        await using (writer.ConfigureAwait(false))
        {
            writer.WriteStartObject();
            writer.WriteString("status"u8, error is null ? "success"u8 : "invalid-query"u8);
            if (formatted is not null)
            {
                writer.WriteString("data"u8, formatted);
            }

            if (error is not null)
            {
                writer.WriteString("error"u8, error);
            }

            writer.WriteEndObject();
            await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>A duration as Prometheus' <c>model.Duration</c> writes it (<c>30d1h</c>, <c>1m</c>, <c>0s</c>), as Loki's limits are shown.</summary>
    internal static string PrometheusDuration(TimeSpan duration)
    {
        var ms = (long)duration.TotalMilliseconds;
        if (ms <= 0)
        {
            return "0s";
        }

        var text = new System.Text.StringBuilder();
        foreach (var (unit, size) in s_durationUnits)
        {
            // Years and weeks only when exact (90d reads better than 12w6d), as Prometheus does.
            if (size >= s_durationUnits[1].Size && ms % size != 0)
            {
                continue;
            }

            var count = ms / size;
            if (count > 0)
            {
                text.Append(count.ToString(CultureInfo.InvariantCulture)).Append(unit);
                ms -= count * size;
            }
        }

        return text.ToString();
    }

    private static readonly (string Unit, long Size)[] s_durationUnits =
    [
        ("y", 365L * 24 * 3600 * 1000), ("w", 7L * 24 * 3600 * 1000), ("d", 24L * 3600 * 1000), ("h", 3600L * 1000), ("m", 60L * 1000),
        ("s", 1000), ("ms", 1),
    ];
}
