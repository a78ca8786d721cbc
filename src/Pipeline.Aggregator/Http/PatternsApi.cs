using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Pipeline.Aggregator.LogQL;
using Pipeline.Aggregator.Patterns;
using Pipeline.Aggregator.Querier;
using Pipeline.LogQL;
using Pipeline.Model;

namespace Pipeline.Aggregator.Http;

/// <summary>
/// Loki's <c>/loki/api/v1/patterns?query=&amp;start=&amp;end=&amp;step=</c> (Logs Drilldown's Patterns tab):
/// <c>{"status":"success","data":[{"pattern":"…","level":"…","samples":[[seconds,count],…]}]}</c>, most frequent first.
/// </summary>
/// <remarks>
/// Patterns are detected at query time, not at ingest: the matching streams' lines in the range are read newest first,
/// one stream at a time, through one <see cref="Drain"/> tree per level (Loki keeps one per stream and merges equal
/// patterns; a tree across the streams of a service finds the variables that differ between its streams too). This needs no state beside the store (so it survives restarts
/// and costs the push path nothing) and is bounded: at most <see cref="MaxLines"/> lines per request, Drain's cluster cap
/// per tree, <see cref="MaxLevels"/> trees, <see cref="MaxPatterns"/> patterns answered, each with at most one sample per step (at most
/// <see cref="MaxPoints"/>). The level is the stream's <c>detected_level</c> or <c>level</c> label, else the entry's <c>detected_level</c> metadata, else <c>unknown</c>.
/// </remarks>
internal sealed class PatternsApi(QueryApi api)
{
    /// <summary>Most lines read for one request (the newest of each stream first).</summary>
    internal const int MaxLines = 200_000;

    /// <summary>Most patterns kept across streams.</summary>
    internal const int MaxPatterns = 1_000;

    /// <summary>Most levels with a tree of their own; lines of further levels are clustered as <c>unknown</c>.</summary>
    internal const int MaxLevels = 16;

    /// <summary>Loki's limit of points per series.</summary>
    internal const long MaxPoints = 11_000;

    private const string UnknownLevel = "unknown";

    public async Task HandleAsync(HttpContext context)
    {
        var (ok, tenant, start, end) = await api.BoundsAsync(context).ConfigureAwait(false);
        if (!ok)
        {
            return;
        }

        var query = await QueryApi.ParamAsync(context, "query").ConfigureAwait(false);
        var stepText = await QueryApi.ParamAsync(context, "step").ConfigureAwait(false);
        var step = QueryParameters.DefaultStep(start, end);
        string? error = null;
        if (!string.IsNullOrEmpty(stepText) && !QueryParameters.TryParseDuration(stepText, out step, out error))
        {
            await QueryApi.WriteErrorAsync(context, StatusCodes.Status400BadRequest, error!).ConfigureAwait(false);
            return;
        }

        if (step <= 0)
        {
            await QueryApi.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "zero or negative query resolution step widths are not accepted. Try a positive integer").ConfigureAwait(false);
            return;
        }

        if ((end - start) / step > MaxPoints)
        {
            await QueryApi.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "exceeded maximum resolution of 11,000 points per timeseries. Try increasing the value of the step parameter").ConfigureAwait(false);
            return;
        }

        if (string.IsNullOrEmpty(query))
        {
            await QueryApi.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "query parameter is required").ConfigureAwait(false);
            return;
        }

        IReadOnlyList<IReadOnlyList<LabelMatcher>> selectors;
        try
        {
            selectors = QueryApi.SelectorsOf(query);
        }
        catch (LogQLException ex)
        {
            await QueryApi.WriteErrorAsync(context, StatusCodes.Status400BadRequest, ex.Message).ConfigureAwait(false);
            return;
        }

        var patterns = await IndexStatsApi.RunScheduledAsync(api, context, tenant, ct => Detect(tenant, selectors, start, end, step, ct)).ConfigureAwait(false);
        if (patterns is null)
        {
            return;
        }

        await QueryApi.WriteJsonAsync(context, patterns, WriteResponse).ConfigureAwait(false);
    }

    /// <summary>Runs Drain over the lines of each matching stream in [start, end] and merges the clusters by pattern and level.</summary>
    internal List<PatternSeries> Detect(string tenant, IReadOnlyList<IReadOnlyList<LabelMatcher>> selectors, long start, long end, long step, CancellationToken cancellationToken)
    {
        ILogQueryStore store = new IngesterQueryStore(api.Store);
        if (MultiTenantQueryStore.IsMultiTenant(tenant))
        {
            store = new MultiTenantQueryStore(store);
        }

        var streams = new Dictionary<LabelSet, StoredStream>();
        foreach (var matchers in selectors)
        {
            foreach (var stream in store.SelectStreams(tenant, matchers, start, end + 1))
            {
                streams.TryAdd(stream.Labels, stream);
            }
        }

        var ordered = streams.Values.ToList();
        ordered.Sort(static (a, b) => string.CompareOrdinal(a.Labels.ToString(), b.Labels.ToString()));

        // One tree per level across the streams: Drilldown asks for a service, whose lines are spread over many streams.
        var drains = new Dictionary<string, Drain>(StringComparer.Ordinal);
        try
        {
            var budget = MaxLines;
            foreach (var stream in ordered)
            {
                if (budget <= 0)
                {
                    break;
                }

                // The stream's level label, else each entry's detected_level (structured metadata, set at ingest).
                var streamLevel = stream.Labels["detected_level"] ?? stream.Labels["level"];
                string? lastLevel = null;
                Drain drain = null!;
                foreach (var entry in store.ReadEntries(tenant, stream, start, end + 1, Direction.Backward))
                {
                    if ((--budget & 1023) == 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    var level = streamLevel ?? entry.StructuredMetadata?["detected_level"] ?? UnknownLevel;
                    if (!ReferenceEquals(level, lastLevel))
                    {
                        lastLevel = level;
                        drain = DrainFor(drains, level);
                    }

                    drain.Train(entry.Line.Span)?.Add(start + ((entry.Timestamp - start) / step * step));
                    if (budget <= 0)
                    {
                        break;
                    }
                }
            }

            var merged = new Dictionary<(string Pattern, string Level), PatternSeries>();
            foreach (var (level, drain) in drains)
            {
                foreach (var cluster in drain.Clusters)
                {
                    var key = (cluster.Pattern(), level);
                    if (!merged.TryGetValue(key, out var series))
                    {
                        if (merged.Count >= MaxPatterns)
                        {
                            continue;
                        }

                        series = new PatternSeries(key.Item1, level);
                        merged[key] = series;
                    }

                    series.Add(cluster);
                }
            }

            var result = merged.Values.ToList();
            result.Sort(static (a, b) => b.Total != a.Total ? b.Total.CompareTo(a.Total) : string.CompareOrdinal(a.Pattern, b.Pattern));
            return result;
        }
        finally
        {
            foreach (var drain in drains.Values)
            {
                drain.Dispose();
            }
        }
    }

    private static void WriteResponse(Utf8JsonWriter writer, List<PatternSeries> patterns)
    {
        writer.WriteStartObject();
        writer.WriteString("status"u8, "success"u8);
        writer.WritePropertyName("data"u8);
        writer.WriteStartArray();
        foreach (var series in patterns)
        {
            writer.WriteStartObject();
            writer.WriteString("pattern"u8, series.Pattern);
            writer.WriteString("level"u8, series.Level);
            writer.WritePropertyName("samples"u8);
            writer.WriteStartArray();
            foreach (var (bucket, count) in series.Samples)
            {
                writer.WriteStartArray();
                writer.WriteNumberValue(bucket / 1_000_000_000);
                writer.WriteNumberValue(count);
                writer.WriteEndArray();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>The tree of a level; beyond <see cref="MaxLevels"/> levels, further ones share the <c>unknown</c> tree.</summary>
    private static Drain DrainFor(Dictionary<string, Drain> drains, string level)
    {
        if (drains.TryGetValue(level, out var drain))
        {
            return drain;
        }

        if (drains.Count >= MaxLevels)
        {
            level = UnknownLevel;
            if (drains.TryGetValue(level, out drain))
            {
                return drain;
            }
        }

        drain = new Drain();
        drains[level] = drain;
        return drain;
    }

    /// <summary>One pattern of one level: counts per step bucket, merged from every stream's cluster with this pattern.</summary>
    internal sealed class PatternSeries(string pattern, string level)
    {
        public string Pattern { get; } = pattern;

        public string Level { get; } = level;

        public long Total { get; private set; }

        public SortedDictionary<long, long> Samples { get; } = [];

        public void Add(DrainCluster cluster)
        {
            Total += cluster.Count;
            foreach (var (bucket, count) in cluster.Samples)
            {
                Samples[bucket] = Samples.GetValueOrDefault(bucket) + count;
            }
        }
    }
}
