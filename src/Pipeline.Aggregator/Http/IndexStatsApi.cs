using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Pipeline.Aggregator.Ingester;
using Pipeline.Aggregator.LogQL;
using Pipeline.LogQL;
using Pipeline.Model;

namespace Pipeline.Aggregator.Http;

/// <summary>
/// Loki's cheap statistics, answered from the index and the chunks' recorded totals (entries, uncompressed bytes), never
/// by reading entries: <c>index/stats</c> (<c>{"streams","chunks","entries","bytes"}</c>), <c>index/volume</c> (a vector at
/// <c>end</c>) and <c>index/volume_range</c> (a matrix, one sample per <c>step</c> at the end of each interval), grouped by
/// the <c>targetLabels</c> or the selector's label names (<c>aggregateBy=series</c>, the default) or per label name
/// (<c>aggregateBy=labels</c>), largest first, at most <c>limit</c> (default 100). A chunk partly inside the range counts
/// by the share of its time span inside, as Loki's index does. Runs in the tenant's turn of the query scheduler; a tenant
/// <c>a|b</c> reads both, each stream labelled <c>__tenant_id__</c>.
/// </summary>
internal sealed class IndexStatsApi(QueryApi api)
{
    private const int DefaultVolumeLimit = 100;

    public async Task StatsAsync(HttpContext context)
    {
        var (ok, tenant, start, end, selectors) = await ParseAsync(context).ConfigureAwait(false);
        if (!ok)
        {
            return;
        }

        var found = await RunAsync(context, tenant, selectors, start, end).ConfigureAwait(false);
        if (found is null)
        {
            return;
        }

        long streams = 0, chunks = 0, entries = 0, bytes = 0;
        foreach (var (_, stream) in found)
        {
            var (streamChunks, streamEntries, streamBytes) = Sum(stream, start, end);
            if (streamEntries > 0)
            {
                streams++;
                chunks += streamChunks;
                entries += streamEntries;
                bytes += streamBytes;
            }
        }

        await QueryApi.WriteJsonAsync(context, (streams, chunks, entries, bytes), static (writer, s) =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("streams"u8, s.streams);
            writer.WriteNumber("chunks"u8, s.chunks);
            writer.WriteNumber("entries"u8, s.entries);
            writer.WriteNumber("bytes"u8, s.bytes);
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    public async Task VolumeAsync(HttpContext context, bool range)
    {
        var (ok, tenant, start, end, selectors) = await ParseAsync(context).ConfigureAwait(false);
        if (!ok)
        {
            return;
        }

        var stepText = await QueryApi.ParamAsync(context, "step").ConfigureAwait(false);
        var step = range ? QueryParameters.DefaultStep(start, end) : Math.Max(1, end - start);
        var aggregateBy = await QueryApi.ParamAsync(context, "aggregateBy").ConfigureAwait(false);
        string? error = null;
        if ((range && !string.IsNullOrEmpty(stepText) && !QueryParameters.TryParseDuration(stepText, out step, out error))
            || !QueryParameters.TryParseLimit(await QueryApi.ParamAsync(context, "limit").ConfigureAwait(false), DefaultVolumeLimit, out var limit, out error))
        {
            await QueryApi.WriteErrorAsync(context, StatusCodes.Status400BadRequest, error!).ConfigureAwait(false);
            return;
        }

        if (step <= 0)
        {
            await QueryApi.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "zero or negative query resolution step widths are not accepted. Try a positive integer").ConfigureAwait(false);
            return;
        }

        if (!string.IsNullOrEmpty(aggregateBy) && aggregateBy is not ("series" or "labels"))
        {
            await QueryApi.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid aggregation option").ConfigureAwait(false);
            return;
        }

        if ((end - start) / step > PatternsApi.MaxPoints)
        {
            await QueryApi.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "exceeded maximum resolution of 11,000 points per timeseries. Try increasing the value of the step parameter").ConfigureAwait(false);
            return;
        }

        var byLabels = aggregateBy == "labels";
        var targets = (await QueryApi.ParamAsync(context, "targetLabels").ConfigureAwait(false) ?? string.Empty)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (targets.Count == 0 && !byLabels)
        {
            // Loki's aggregateBy=series without targets: the label names the selector mentions.
            foreach (var matchers in selectors)
            {
                foreach (var matcher in matchers)
                {
                    if (matcher.Name != MultiTenantQueryStore.TenantLabel && !targets.Contains(matcher.Name))
                    {
                        targets.Add(matcher.Name);
                    }
                }
            }
        }

        var found = await RunAsync(context, tenant, selectors, start, end).ConfigureAwait(false);
        if (found is null)
        {
            return;
        }

        // Loki's volume_range: intervals of a step from start, each sample at the end of its interval (volume: one interval).
        var intervals = new List<(long From, long Through, long At)>();
        for (var from = start; ; from += step)
        {
            var to = Math.Min(end, from + step);
            intervals.Add((from, to >= end ? end : to - 1, to));
            if (to >= end)
            {
                break;
            }
        }

        var volumes = new Dictionary<string, (LabelSet? Metric, SortedDictionary<long, long> Buckets)>(StringComparer.Ordinal);
        foreach (var (labels, chunks) in found)
        {
            foreach (var (from, through, at) in intervals)
            {
                var (_, entries, bytes) = Sum(chunks, from, through);
                if (entries == 0)
                {
                    continue;
                }

                if (byLabels)
                {
                    foreach (var label in labels)
                    {
                        if (label.Name != MultiTenantQueryStore.TenantLabel && (targets.Count == 0 || targets.Contains(label.Name)))
                        {
                            AddVolume(volumes, label.Name, null, at, bytes);
                        }
                    }
                }
                else
                {
                    var key = new List<Label>();
                    foreach (var target in targets)
                    {
                        if (labels[target] is { } value)
                        {
                            key.Add(new Label(target, value));
                        }
                    }

                    var metric = LabelSet.Create(key.ToArray());
                    AddVolume(volumes, metric.ToString(), metric, at, bytes);
                }
            }
        }

        var ordered = volumes
            .OrderByDescending(v => v.Value.Buckets.Values.Sum())
            .ThenBy(v => v.Key, StringComparer.Ordinal)
            .Select(v => (v.Key, v.Value.Metric, v.Value.Buckets))
            .Take(limit)
            .ToList();
        await QueryApi.WriteJsonAsync(context, (ordered, range, end), static (writer, s) =>
        {
            writer.WriteStartObject();
            writer.WriteString("status"u8, "success"u8);
            writer.WritePropertyName("data"u8);
            writer.WriteStartObject();
            writer.WriteString("resultType"u8, s.range ? "matrix"u8 : "vector"u8);
            writer.WritePropertyName("result"u8);
            writer.WriteStartArray();
            foreach (var (name, metric, buckets) in s.ordered)
            {
                writer.WriteStartObject();
                writer.WritePropertyName("metric"u8);
                if (metric is null)
                {
                    // aggregateBy=labels: Loki's metric is the label name with an empty value.
                    writer.WriteStartObject();
                    writer.WriteString(name, string.Empty);
                    writer.WriteEndObject();
                }
                else
                {
                    LokiJson.WriteLabels(writer, metric);
                }

                if (s.range)
                {
                    writer.WritePropertyName("values"u8);
                    writer.WriteStartArray();
                    foreach (var (ts, bytes) in buckets)
                    {
                        LokiJson.WritePoint(writer, ts, bytes);
                    }

                    writer.WriteEndArray();
                }
                else
                {
                    writer.WritePropertyName("value"u8);
                    LokiJson.WritePoint(writer, s.end, buckets.Values.Sum());
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }).ConfigureAwait(false);
    }

    /// <summary>Adds to the volume named <paramref name="name"/>: a series (<paramref name="metric"/>) or, when null, a label name.</summary>
    private static void AddVolume(Dictionary<string, (LabelSet? Metric, SortedDictionary<long, long> Buckets)> volumes, string name, LabelSet? metric, long bucket, long bytes)
    {
        if (!volumes.TryGetValue(name, out var volume))
        {
            volume = (metric, []);
            volumes[name] = volume;
        }

        volume.Buckets[bucket] = volume.Buckets.GetValueOrDefault(bucket) + bytes;
    }

    /// <summary>Chunks, entries and bytes of a stream's chunks in [from, through], each chunk by its share inside.</summary>
    private static (long Chunks, long Entries, long Bytes) Sum(List<ChunkStats> chunks, long from, long through)
    {
        long count = 0, entries = 0, bytes = 0;
        foreach (var chunk in chunks)
        {
            var factor = chunk.FactorIn(from, through);
            if (factor > 0)
            {
                count++;
                entries += (long)(chunk.Entries * factor);
                bytes += (long)(chunk.Bytes * factor);
            }
        }

        return (count, entries, bytes);
    }

    private async Task<(bool Ok, string Tenant, long Start, long End, IReadOnlyList<IReadOnlyList<LabelMatcher>> Selectors)> ParseAsync(HttpContext context)
    {
        var (ok, tenant, start, end) = await api.BoundsAsync(context).ConfigureAwait(false);
        if (!ok)
        {
            return default;
        }

        var query = await QueryApi.ParamAsync(context, "query").ConfigureAwait(false);
        try
        {
            return (true, tenant, start, end, string.IsNullOrEmpty(query) ? [[]] : QueryApi.SelectorsOf(query));
        }
        catch (LogQLException ex)
        {
            await QueryApi.WriteErrorAsync(context, StatusCodes.Status400BadRequest, ex.Message).ConfigureAwait(false);
            return default;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in the tenant's turn of the query scheduler; null when answered already (a full queue
    /// is 429 "too many outstanding requests") or the client went away.
    /// </summary>
    internal static async Task<T?> RunScheduledAsync<T>(QueryApi api, HttpContext context, string tenant, Func<CancellationToken, T> work)
        where T : class
    {
        try
        {
            var (admitted, result) = await api.Scheduler.RunAsync(tenant, work, context.RequestAborted).ConfigureAwait(false);
            if (!admitted)
            {
                await QueryApi.WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, QueryScheduler.TooManyOutstandingRequests).ConfigureAwait(false);
                return null;
            }

            return result;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>In the tenant's turn: each matching stream (of each tenant of <c>a|b</c>) with its chunks' totals; null when answered already.</summary>
    private Task<List<(LabelSet Labels, List<ChunkStats> Chunks)>?> RunAsync(HttpContext context, string tenant, IReadOnlyList<IReadOnlyList<LabelMatcher>> selectors, long start, long end) =>
        RunScheduledAsync(api, context, tenant, _ => Collect(tenant, selectors, start, end));

    private List<(LabelSet Labels, List<ChunkStats> Chunks)> Collect(string tenant, IReadOnlyList<IReadOnlyList<LabelMatcher>> selectors, long start, long end)
    {
        var multi = MultiTenantQueryStore.IsMultiTenant(tenant);
        var found = new Dictionary<LabelSet, List<ChunkStats>>();
        var builder = new LabelSetBuilder();
        foreach (var one in tenant.Split('|', StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal))
        {
            foreach (var matchers in selectors)
            {
                List<LabelMatcher> others = [];
                var tenantMatches = true;
                foreach (var matcher in matchers)
                {
                    if (multi && matcher.Name == MultiTenantQueryStore.TenantLabel)
                    {
                        tenantMatches &= matcher.Matches(one);
                    }
                    else
                    {
                        others.Add(matcher);
                    }
                }

                if (!tenantMatches)
                {
                    continue;
                }

                foreach (var (labels, chunks) in api.Store.ChunkStatistics(one, others, start, end + 1))
                {
                    var key = labels;
                    if (multi)
                    {
                        builder.Reset(labels);
                        builder.Set(MultiTenantQueryStore.TenantLabel, one);
                        key = builder.Build();
                    }

                    found.TryAdd(key, chunks);
                }
            }
        }

        var result = found.Select(f => (f.Key, f.Value)).ToList();
        result.Sort(static (a, b) => string.CompareOrdinal(a.Key.ToString(), b.Key.ToString()));
        return result;
    }
}
